def response(flow)
    flow.response.headers["x"] = "y"
