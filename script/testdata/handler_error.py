from mitmproxy import ctx


def request(flow):
    flow.request.headers["x-first"] = "1"


class Failing:
    def request(self, flow):
        flow.request.headers["x-failing"] = "1"
        flow.request.path = "/changed-by-failing"
        raise RuntimeError("handler failed on purpose")

    def response(self, flow):
        raise SystemExit(3)


class After:
    def request(self, flow):
        flow.request.headers["x-after"] = "1"


addons = [Failing(), After()]
