import os
import threading
import time
import unittest

from mitmproxy._mitmgo import host as H


class TestLoop(unittest.TestCase):
    """The host's event loop (_Loop) takes a short turn when only mitmgo's
    pipe is ready; everything else asyncio does must still happen: other
    readers, callbacks from threads, timers, tasks, a removed reader."""

    def setUp(self):
        self.loop = H._Loop()
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.got = []
        self.loop.add_reader(self.r, self.on_readable)
        self.loop.fast_reader(self.r)

    def tearDown(self):
        self.loop.close()
        os.close(self.r)
        os.close(self.w)

    def on_readable(self):
        data = os.read(self.r, 100)
        self.got.append(data)
        if data.endswith(b"."):
            self.loop.stop()

    def run_loop(self):
        t = self.loop.call_later(10, self.loop.stop)  # a test that hangs fails
        self.loop.call_soon(t.cancel)
        self.loop.run_forever()

    def test_fast_turn_taken(self):
        self.assertIsNotNone(self.loop._fast, "no short turn on this platform's epoll selector")

    def test_pipe_read_in_order(self):
        def write():
            for part in (b"a", b"b", b"c."):
                os.write(self.w, part)
                time.sleep(0.01)

        threading.Thread(target=write).start()
        self.run_loop()
        self.assertEqual(b"".join(self.got), b"abc.")

    def test_thread_callback_wakes_the_loop(self):
        seen = []

        def from_thread():
            self.loop.call_soon_threadsafe(seen.append, 1)
            self.loop.call_soon_threadsafe(self.loop.stop)

        threading.Timer(0.05, from_thread).start()
        self.run_loop()
        self.assertEqual(seen, [1])

    def test_timer_and_task(self):
        seen = []

        async def task():
            seen.append("task")
            os.write(self.w, b"x.")

        self.loop.call_later(0.02, lambda: seen.append("timer") or self.loop.create_task(task()))
        self.run_loop()
        self.assertEqual(seen, ["timer", "task"])
        self.assertEqual(self.got, [b"x."])

    def test_other_reader(self):
        r2, w2 = os.pipe()
        try:
            os.set_blocking(r2, False)
            self.loop.add_reader(r2, lambda: (self.got.append(os.read(r2, 10)), self.loop.stop()))
            os.write(w2, b"other")
            self.run_loop()
            self.assertEqual(self.got, [b"other"])
        finally:
            self.loop.remove_reader(r2)
            os.close(r2)
            os.close(w2)

    def test_removed_reader(self):
        self.loop.remove_reader(self.r)
        os.write(self.w, b"ignored.")
        threading.Timer(0.05, self.loop.call_soon_threadsafe, (self.loop.stop,)).start()
        self.run_loop()
        self.assertEqual(self.got, [])

    def test_reader_exception_reported(self):
        errors = []
        self.loop.set_exception_handler(lambda loop, ctx: errors.append(ctx.get("exception")))

        def bad():
            os.read(self.r, 100)
            self.loop.call_soon(self.loop.stop)
            raise ValueError("boom")

        self.loop.remove_reader(self.r)
        self.loop.add_reader(self.r, bad)
        self.loop.fast_reader(self.r)
        os.write(self.w, b"x")
        self.run_loop()
        self.assertEqual([type(e) for e in errors], [ValueError])


if __name__ == "__main__":
    unittest.main()
