#!/usr/bin/python3
"""Reference outputs for package contentview, computed with Python itself.

Reads a JSON list of [kind, base64 input] from stdin and writes the list of
outputs (null where Python raises) as JSON to stdout:

  json  json.dumps(json.loads(data), indent=4, ensure_ascii=False)
  yaml  ruamel.yaml's round-trip dump of a mapping given as JSON
        [[key, value-or-list], ...]
  xml   mitmproxy's XML/HTML prettifier (format_xml(tokenize(text)), the same
        algorithm in 8.1.1 and today)

With --corpus it prints the fixed corpus with its outputs instead, which is
what testdata/oracle.json holds. Needs Debian's python3 with mitmproxy and
ruamel.yaml (apt-get install mitmproxy).
"""
import base64
import io
import json
import sys

from ruamel.yaml import YAML
from mitmproxy.contentviews import xml_html


def run(kind, data):
    try:
        if kind == "json":
            return json.dumps(json.loads(data), indent=4, ensure_ascii=False)
        if kind == "yaml":
            pairs = json.loads(data)
            out = io.StringIO()
            YAML(typ="rt", pure=True).dump(dict(pairs), out)
            return out.getvalue()
        if kind == "xml":
            return xml_html.format_xml(xml_html.tokenize(data.decode("utf-8")))
    except Exception:
        return None
    raise ValueError(kind)


CORPUS = [
    ("json", b'{"a": 1, "b": [1, 2, {"c": null}], "d": {}, "e": [], "f": "x\\ny\\u0001\\u00e9\\"", "g": true, "h": false}'),
    ("json", b'[1.0, 1e2, 1E-7, -0, -0.0, 0.1, 1e16, 1e15, 123456789012345678901234567890, 0.0001, 0.00001, 1.5e300, 1e400, -1e400]'),
    ("json", b'{"dup": 1, "other": 2, "dup": 3}'),
    ("json", b'  \n\t"just a string"\r\n '),
    ("json", b'[NaN, Infinity, -Infinity]'),
    ("json", b'{"emoji": "\\ud83d\\ude00", "raw": "\xf0\x9f\x98\x80", "tab": "\t"}'),
    ("json", b'{"a": 1,}'),
    ("json", b'[1, 2'),
    ("json", b'01'),
    ("json", b'{"a" 1}'),
    ("json", b'1.'),
    ("json", b'[1e, 2]'),
    ("json", b'\xef\xbb\xbf{"bom": 1}'),
    ("json", b'[[[[[[[[[[]]]]]]]]]]'),
    ("json", b'{"\\u00e9": "\\/slash"}'),
    ("json", b'"\xff"'),
    ("yaml", json.dumps([["a", ["1", "3"]], ["b", "two words"], ["empty", ""], ["yes", "true"], ["no", "no"],
                         ["num", "42"], ["x", ": colon"], ["t", "a\tb"], ["nl", "a\nb"], ["q", "it's"],
                         ["dash", "-x"], ["d2", "- x"], ["hash", "a #b"], ["h2", "#a"], ["date", "2024-01-01"],
                         ["f", "1.5"], ["e", "1e3"], ["u", "caf\u00e9"], ["lead", " sp"], ["colon", "a:"],
                         ["k:ey", "v"], ["tilde", "~"], ["nul", "null"], ["ctl", "a\x01b"], ["pct", "%x"],
                         ["star", "*x"], ["o", "0o17"], ["under", "1_000"], ["dot", ".5"], ["inf", ".inf"],
                         ["lt", "<<"], ["eq", "="], ["bs", "a\\b"], ["brace", "a{b}"], ["dq", 'say "hi"'],
                         ["excl", "!x"], ["amp", "&x"], ["q2", "?x"], ["q3", "? x"], ["col2", ":x"],
                         ["true", "key is bool"], ["", "empty key"], ["dots", "...x"], ["long", "word " * 30 + "end"],
                         ["longq", "word " * 30 + "'q'"], ["hex", "0x1F"], ["neg", "-5"], ["plus", "+1.5e3"],
                         ["ts", "2001-12-14t21:59:43.10-05:00"], ["null2", "Null"], ["amp2", "a&b"]]).encode()),
    ("xml", b'<?xml version="1.0"?><a><b>text</b><c/><d></d><!-- c --><![CDATA[x<y]]></a>'),
    ("xml", b'<!DOCTYPE html>\n<html><head><title>Hi</title><meta charset="utf-8"></head><body><p>Hello <b>there</b></p><br></body></html>\n'),
    ("xml", b'<ul>\n  <li>This is\n      example text\n      over lines\n  </li>\n</ul>'),
    ("xml", b'<a href=x>link</a> trailing <unclosed'),
    ("xml", b'</stray><p>a</p></div>'),
    ("xml", b'<x1><x2><x3><x4><x5><x6><x7><x8><x9><x10><x11><x12><x13><x14><x15><x16><x17><x18><x19>deep</x19></x18></x17></x16></x15></x14></x13></x12></x11></x10></x9></x8></x7></x6></x5></x4></x3></x2></x1>'),
    ("xml", b'<html><body><div class="a" data-x=\'1\'><span>a</span><span>b</span></div></body></html>'),
    ("xml", b'<=a b=c><p =x>t</p></=a>'),
    ("xml", b'<!-- a > b --><p>x</p>'),
    ("xml", b'plain text without tags'),
    ("xml", b'<a>\n\n   \t\n<b>x</b>\n\n</a>'),
]


def main():
    if "--corpus" in sys.argv:
        out = [[k, base64.b64encode(d).decode(), run(k, d)] for k, d in CORPUS]
        json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    cases = json.load(sys.stdin)
    json.dump([run(k, base64.b64decode(d)) for k, d in cases], sys.stdout)


if __name__ == "__main__":
    main()
