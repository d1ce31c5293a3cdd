"""Writes mode_specs.json: what mitmproxy 12's ProxyMode.parse makes of a
list of mode specs (chosen ones and random mutations of them), for
mode_test.go. Run with mitmproxy 12's source (mitmproxy/proxy/mode_specs.py,
mitmproxy/net/server_spec.py and mitmproxy/net/check.py, with stubs for
mitmproxy.coretypes.serializable and mitmproxy_rs) on PYTHONPATH:

    python3 gen_mode_specs.py > mode_specs.json
"""
import sys, json, random
from mitmproxy.proxy.mode_specs import ProxyMode
base = [
 "regular", "REGULAR", "Regular@8080", "regular@", "regular:", "regular:x", "@8080", "", "@", ":",
 "regular@8080", "regular@127.0.0.1:8080", "regular@::1:80", "regular@[::1]:80", "regular@:8080",
 "regular@65535", "regular@65536", "regular@-1", "regular@-0", "regular@+12", "regular@ 12 ", "regular@1_000",
 "regular@1__0", "regular@_1", "regular@abc", "regular@0x10", "regular@١٢", "regular@8080@9090", "regular@host:",
 "transparent", "transparent:x", "socks5", "socks5@1080", "socks5:foo", "dns", "dns@5353", "dns:x",
 "upstream", "upstream:", "upstream:http://proxy:8080", "upstream:https://proxy", "upstream:proxy:3128",
 "upstream:example.com", "upstream:tcp://x:1", "upstream:ftp://x:1", "upstream:HTTP://x", "upstream:http://x:99999",
 "upstream:http://x/", "upstream:http://x/path", "upstream:http://[::1]:8080", "upstream:http://::1:8080",
 "upstream:http://under_score.example:1", "upstream:http://bad host", "upstream:http://-x-", "upstream:http://a..b",
 "upstream:http://a.b.", "upstream:http://bücher.de", "upstream:http://1.2.3.4:0", "upstream:http://x:00080",
 "reverse", "reverse:", "reverse:example.com", "reverse:http://example.com", "reverse:https://example.com@8443",
 "reverse:https://example.com:8443@127.0.0.1:9000", "reverse:tcp://example.com", "reverse:tcp://example.com:22",
 "reverse:tls://example.com:993", "reverse:udp://1.1.1.1:53", "reverse:dns://8.8.8.8", "reverse:dns://8.8.8.8@53",
 "reverse:http3://example.com", "reverse:quic://example.com", "reverse:dtls://example.com:1", "reverse:dtls://example.com",
 "reverse:ws://example.com", "reverse:http://[fe80::1%25eth0]:80", "reverse:http://[fe80::1%eth0]", "reverse:http://[::1",
 "reverse:http://" + "a"*63 + ".com", "reverse:http://" + "a"*64 + ".com", "reverse:http://" + ("a"*60 + ".")*5,
 "Reverse:HTTP://example.com", "reverse:http://example.com:", "reverse:http://:80", "reverse://example.com",
 "wireguard", "wireguard:/tmp/x.conf", "wireguard@51821", "local", "local:curl", "local:!curl", "tun", "tun:tun0",
 "osproxy", "unknown", "upstream:http://x@y", "reverse:http://x:1@y:2",
]
rnd = random.Random(14)
alphabet = list("regulrvsupt:/@.[]0123456789hxs -_5") + ["socks5", "reverse", "upstream", "http://", "https://", "tcp://", "::1", "@", ":"]
extra = []
for _ in range(600):
    s = rnd.choice(base)
    for _ in range(rnd.randint(1, 3)):
        op = rnd.randint(0, 2)
        i = rnd.randint(0, len(s))
        if op == 0:
            s = s[:i] + rnd.choice(alphabet) + s[i:]
        elif op == 1 and s:
            s = s[:i] + s[i+1:]
        else:
            s = s[:i] + rnd.choice(alphabet)
    extra.append(s)
out = []
seen = set()
for s in base + extra:
    if s in seen: continue
    seen.add(s)
    ProxyMode.parse.cache_clear()
    try:
        m = ProxyMode.parse(s)
    except Exception as e:
        out.append({"spec": s, "error": str(e)})
        continue
    addr = getattr(m, "address", None)
    out.append({
        "spec": s, "name": m.type_name, "data": m.data,
        "listen_host": m.custom_listen_host, "listen_port": m.custom_listen_port,
        "scheme": getattr(m, "scheme", None), "address": list(addr) if addr else None,
        "description": m.description, "default_port": m.default_port, "transport": m.transport_protocol,
    })
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
print()
