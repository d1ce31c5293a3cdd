def request(flow)
    pass
