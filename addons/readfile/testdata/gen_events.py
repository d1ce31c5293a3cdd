#!/usr/bin/python3
"""Regenerates events.json: the hook sequence mitmproxy fires for each flow
of the flow files in ../../../../shared/testdata/mitmproxy-flows when they
are loaded with -r (mitmproxy/eventsequence.py).

Files Debian's mitmproxy 8.1.1 can read (format version <= 17) are read with
its FlowReader and run through its eventsequence.iterate, so the expected
events come from mitmproxy itself. Newer files are decoded with its
tnetstring module and the same rules are applied to the raw state dicts.

Run with Debian's python3: /usr/bin/python3 gen_events.py > events.json
"""
import glob
import json
import os
import sys

from mitmproxy import eventsequence, exceptions, hooks, io
from mitmproxy.io import tnetstring

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "../../../../shared/testdata/mitmproxy-flows"))


def name(hook):
    return hook.name


def from_mitmproxy(path):
    out = []
    with open(path, "rb") as f:
        for flow in io.FlowReader(f).stream():
            out.append([name(h) for h in eventsequence.iterate(flow)])
    return out


def from_raw(path):
    out = []
    with open(path, "rb") as f:
        while True:
            try:
                d = tnetstring.load(f)
            except ValueError:
                break
            typ = d["type"]
            ev = []
            if typ == "http":
                ev += ["requestheaders", "request"]
                if d.get("response"):
                    ev += ["responseheaders", "response"]
                if d.get("websocket"):
                    ev += ["websocket_start"]
                    ev += ["websocket_message"] * len(d["websocket"]["messages"])
                    ev += ["websocket_end"]
                elif d.get("error"):
                    ev += ["error"]
            elif typ == "tcp":
                ev += ["tcp_start"] + ["tcp_message"] * len(d["messages"])
                ev += ["tcp_error"] if d.get("error") else ["tcp_end"]
            else:
                ev = ["skipped:" + typ]
            out.append(ev)
    return out


result = {}
for path in sorted(glob.glob(os.path.join(DATA, "**", "*.mitm"), recursive=True)):
    rel = os.path.relpath(path, DATA)
    try:
        result[rel] = from_mitmproxy(path)
    except exceptions.FlowReadException as e:
        if "cannot read files with flow format version (0, 10)" in str(e):
            continue  # refused by every mitmproxy; tested elsewhere
        result[rel] = from_raw(path)
json.dump(result, sys.stdout, indent=1)
sys.stdout.write("\n")
