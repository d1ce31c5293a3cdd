import unittest

from mitmproxy import http
from mitmproxy._mitmgo import runtime, tnetstring
from mitmproxy.websocket import Opcode, WebSocketData, WebSocketMessage

from test_http import _Call, state_flow


def ws_flow(fid, messages, base, **close):
    st = {"messages": messages, "closed_by_client": None, "close_code": None, "close_reason": None,
          "timestamp_end": None}
    st.update(close)
    return state_flow(ws=tnetstring.dumps(st), wsbase=base, fid=fid)


def msg(content, from_client=True, typ=1):
    return [typ, from_client, content, 1.0, False, False]


class TestWebSocketMessage(unittest.TestCase):
    def test_api(self):
        m = WebSocketMessage(1, True, b"hi")
        self.assertIs(m.type, Opcode.TEXT)
        self.assertTrue(m.is_text)
        self.assertEqual(m.text, "hi")
        self.assertEqual(repr(m), "'hi'")
        m.text = "yo"
        self.assertEqual(m.content, b"yo")
        m.type = 2
        self.assertIs(m.type, Opcode.BINARY)
        with self.assertRaisesRegex(AttributeError, "Binary WebSocket frames"):
            m.text
        m.drop()
        self.assertEqual(m.get_state(), (2, True, b"yo", m.timestamp, True, False))
        self.assertEqual(WebSocketMessage.from_state(m.get_state()).get_state(), m.get_state())
        self.assertEqual(tnetstring.loads(tnetstring.dumps(list(m.get_state())))[0], 2)


class TestIncremental(unittest.TestCase):
    def setUp(self):
        runtime.store.ws.clear()

    def test_messages_accumulate_and_changes_are_tracked(self):
        f = ws_flow("ws1", [msg(b"a")], 0)
        self.assertEqual([m.content for m in f.websocket.messages], [b"a"])
        self.assertEqual(f._changes(), {})
        f._ws_commit()
        kept = f.websocket
        f = ws_flow("ws1", [msg(b"b", False)], 1)
        ws = f.websocket
        self.assertIs(ws, kept)
        self.assertEqual([m.content for m in ws.messages], [b"a", b"b"])
        self.assertEqual(f._changes(), {})
        ws.messages[-1].content = b"B"
        ws.messages[0].drop()
        ch = f._changes()["websocket"]["messages"]
        self.assertEqual(ch, [[0, [1, True, b"a", 1.0, True, False]], [1, [1, False, b"B", 1.0, False, False]]])
        f._ws_commit()
        f = ws_flow("ws1", [msg(b"c")], 2, close_code=1000, closed_by_client=True, timestamp_end=5.0)
        self.assertEqual([m.content for m in f.websocket.messages], [b"a", b"B", b"c"])
        self.assertEqual(f._changes(), {})
        self.assertEqual(kept.close_code, 1000)

    def test_rollback_reverts_messages(self):
        f = ws_flow("ws2", [msg(b"a")], 0)
        m = f.websocket.messages[-1]
        snap = f._snapshot()
        m.content = b"changed"
        f._rollback(snap)
        self.assertEqual(m.content, b"a")
        self.assertEqual(f._changes(), {})
        m = f.websocket.messages[-1]
        m.content = b"kept"
        snap = f._snapshot()
        m.drop()
        f._rollback(snap)
        self.assertEqual(f._changes()["websocket"]["messages"], [[0, [1, True, b"kept", 1.0, False, False]]])

    def test_replaced_newest_message(self):
        f = ws_flow("ws3", [msg(b"a"), msg(b"b")], 0)
        f.websocket.messages[-1] = WebSocketMessage(2, True, b"new", 2.0)
        self.assertEqual(f._changes()["websocket"]["messages"], [[1, [2, True, b"new", 2.0, False, False]]])

    def test_missing_messages_are_fetched(self):
        class Call(_Call):
            id = 7

        asked = []

        class Host:
            def request(self, op, **kw):
                asked.append((op, kw))
                return [msg(b"x"), msg(b"y")]

        old = runtime.host
        runtime.host = Host()
        try:
            st = {"messages": [msg(b"y")], "closed_by_client": None, "close_code": None, "close_reason": None,
                  "timestamp_end": None}
            f = state_flow(call=Call(), ws=tnetstring.dumps(st), wsbase=1)
            self.assertEqual([m.content for m in f.websocket.messages], [b"x", b"y"])
            self.assertEqual(asked, [("ws", {"call": 7})])
        finally:
            runtime.host = old

    def test_forget_ends_kept_data(self):
        f = ws_flow("ws4", [msg(b"a")], 0)
        f._ws_commit()
        kept = f.websocket
        runtime.store.forget("ws4", {"closed_by_client": False, "close_code": 1001, "close_reason": b"away",
                                     "timestamp_end": 9.0})
        self.assertEqual((kept.closed_by_client, kept.close_code, kept.close_reason, kept.timestamp_end),
                         (False, 1001, "away", 9.0))
        self.assertNotIn("ws4", runtime.store.ws)

    def test_plain_state(self):
        # A flow whose state carries every message (no wsbase).
        st = {"messages": [msg(b"a")], "closed_by_client": None, "close_code": None, "close_reason": None,
              "timestamp_end": None}
        f = state_flow(ws=tnetstring.dumps(st))
        self.assertEqual(len(f.websocket.messages), 1)
        self.assertIsInstance(f.websocket, WebSocketData)


class TestStream(unittest.TestCase):
    def setUp(self):
        runtime.store.streams.clear()

    def test_wire(self):
        f = state_flow()
        f.response.stream = True
        self.assertEqual(f._changes(), {"response": {"stream": True}})
        f = state_flow()
        fn = lambda d: d
        f.response.stream = fn
        f.request.stream = False  # unchanged
        self.assertEqual(f._changes(), {"response": {"stream": "fn"}})

    def test_callable_survives_rollback(self):
        f = state_flow()
        fn = lambda d: d
        f.response.stream = fn
        snap = f._snapshot()
        f.response.stream = False
        f._rollback(snap)
        self.assertIs(f.response.stream, fn)
        self.assertEqual(f._changes(), {"response": {"stream": "fn"}})

    def test_restored_from_store(self):
        fn = lambda d: d
        runtime.store.set_stream(("the-id", "rs"), fn)
        rs = http.Response.make(200, b"").get_state()
        rs["stream"] = True
        f = state_flow(rs=tnetstring.dumps(rs))
        self.assertIs(f.response.stream, fn)
        self.assertEqual(f._changes(), {})
        f.response.stream = False
        self.assertEqual(f._changes(), {"response": {"stream": False}})
        # Not streamed any more (a later addon said no): no callable.
        rs["stream"] = False
        f = state_flow(rs=tnetstring.dumps(rs))
        self.assertIs(f.response.stream, False)

    def test_new_response_is_not_streamed(self):
        f = state_flow()
        f.response = http.Response.make(200, b"x")
        self.assertIs(f._changes()["response"]["stream"], False)


if __name__ == "__main__":
    unittest.main()
