import os
import signal
import threading
import time
import unittest

from mitmproxy._mitmgo import host as H


class CountingPoll:
    """Stands in for the short turn's epoll object and counts its waits,
    so that a test can tell the short turn ran."""

    def __init__(self, ep):
        self.ep = ep
        self.polls = 0

    def poll(self, *args):
        self.polls += 1
        return self.ep.poll(*args)


def later(delay, fn, *args):
    """Runs fn on a thread once the loop is (very likely) waiting in its
    short turn."""
    t = threading.Timer(delay, fn, args)
    t.daemon = True
    t.start()
    return t


class TestLoop(unittest.TestCase):
    """The host's event loop (_Loop) takes a short turn when only mitmgo's
    pipe is ready; everything else asyncio does must still happen, also
    when it becomes due while the loop waits in the short turn: other
    readers, callbacks from threads, signal handlers, timers, tasks, a
    removed reader, an exception in the reader."""

    def setUp(self):
        self.loop = H._Loop()
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.got = []
        self.loop.add_reader(self.r, self.on_readable)
        self.loop.fast_reader(self.r)
        self.counter = None
        if self.loop._fast is not None:
            ep, fd, handle = self.loop._fast
            self.counter = CountingPoll(ep)
            self.loop._fast = (self.counter, fd, handle)

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
        """Runs the loop until a test stops it; one that hangs fails
        after 10 s (the guard is a thread: a timer of the loop's own
        would keep it out of the short turn)."""
        hung = []
        guard = later(10, lambda: (hung.append(True), self.loop.call_soon_threadsafe(self.loop.stop)))
        try:
            self.loop.run_forever()
        finally:
            guard.cancel()
        self.assertEqual(hung, [], "the loop was not stopped within 10 s")

    def assertShortTurn(self):
        if self.counter is None:
            self.skipTest("no short turn on this platform's selector")
        self.assertGreater(self.counter.polls, 0, "the loop never waited in its short turn")

    def test_fast_turn_taken(self):
        self.assertIsNotNone(self.loop._fast, "no short turn on this platform's epoll selector")

    def test_pipe_read_in_order(self):
        def write():
            for part in (b"a", b"b", b"c."):
                os.write(self.w, part)
                time.sleep(0.01)

        later(0.05, write)
        self.run_loop()
        self.assertEqual(b"".join(self.got), b"abc.")
        self.assertShortTurn()

    def test_thread_callback_wakes_the_loop(self):
        seen = []

        def from_thread():
            self.loop.call_soon_threadsafe(seen.append, 1)
            self.loop.call_soon_threadsafe(self.loop.stop)

        later(0.05, from_thread)
        self.run_loop()
        self.assertEqual(seen, [1])
        self.assertShortTurn()

    def test_signal_handler(self):
        seen = []
        self.loop.add_signal_handler(signal.SIGUSR1, lambda: (seen.append("signal"), self.loop.stop()))
        try:
            later(0.05, os.kill, os.getpid(), signal.SIGUSR1)
            self.run_loop()
        finally:
            self.loop.remove_signal_handler(signal.SIGUSR1)
        self.assertEqual(seen, ["signal"])
        self.assertShortTurn()

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
            later(0.05, os.write, w2, b"other")
            self.run_loop()
            self.assertEqual(self.got, [b"other"])
            self.assertShortTurn()
        finally:
            self.loop.remove_reader(r2)
            os.close(r2)
            os.close(w2)

    def test_removed_reader(self):
        self.loop.remove_reader(self.r)
        os.write(self.w, b"ignored.")
        later(0.05, self.loop.call_soon_threadsafe, self.loop.stop)
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
        if self.counter is not None:
            ep, fd, handle = self.loop._fast
            self.loop._fast = (self.counter, fd, handle)
        later(0.05, os.write, self.w, b"x")
        self.run_loop()
        self.assertEqual([type(e) for e in errors], [ValueError])
        self.assertShortTurn()


if __name__ == "__main__":
    unittest.main()
