def request(flow):
    raise ValueError("oneshot boom")
