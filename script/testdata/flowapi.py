"""Exercises the flow API against values the Go test checks."""
import json

from mitmproxy import ctx, http


def request(flow):
    r = flow.request
    p = r.path
    if p.startswith("/kill"):
        flow.kill()
    elif p.startswith("/intercept"):
        flow.intercept()
    elif p.startswith("/url"):
        r.url = "https://other.example:8443/new?a=1"
    elif p.startswith("/query"):
        q = r.query
        q["added"] = "yes"
        r.headers["x-q"] = ",".join("%s=%s" % kv for kv in r.query.items(multi=True))
    elif p.startswith("/form"):
        form = r.urlencoded_form
        r.headers["x-form"] = json.dumps(list(form.items(multi=True)))
        form["extra"] = "1"
    elif p.startswith("/meta"):
        flow.metadata["seen"] = True
        flow.metadata["n"] = 3
        flow.marked = ":star:"
        flow.comment = "a comment"
    elif p.startswith("/cookies"):
        r.headers["x-cookies"] = json.dumps(list(r.cookies.items(multi=True)))
    elif p.startswith("/facts"):
        r.headers["x-facts"] = json.dumps({
            "client": list(flow.client_conn.peername),
            "server": list(flow.server_conn.address),
            "host": r.host, "port": r.port, "scheme": r.scheme, "method": r.method,
            "pretty_host": r.pretty_host, "pretty_url": r.pretty_url, "url": r.url,
            "http_version": r.http_version, "live": flow.live, "id": flow.id,
            "type": flow.type,
        })
    elif p.startswith("/copy"):
        c = flow.copy()
        c.request.headers["x-copy"] = "1"
        r.headers["x-copy-id-differs"] = str(c.id != flow.id)


def response(flow):
    resp = flow.response
    if flow.request.path.startswith("/text"):
        resp.text = resp.text.upper()
    elif flow.request.path.startswith("/json"):
        data = resp.json()
        data["seen"] = True
        resp.text = json.dumps(data)
    elif flow.request.path.startswith("/decode"):
        resp.headers["x-decoded"] = resp.content.decode()
    elif flow.request.path.startswith("/setbody"):
        resp.content = b"new body"
    elif flow.request.path.startswith("/status"):
        resp.status_code = 418
        resp.reason = "I'm a teapot"
    elif flow.request.path.startswith("/noresponse"):
        flow.response = None
    elif flow.request.path.startswith("/setcookie"):
        c = resp.cookies
        resp.headers["x-setcookie"] = json.dumps([[k, v[0]] for k, v in c.items(multi=True)])
