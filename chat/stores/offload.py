"""Run a blocking store on one real OS thread, so green threads keep running.

SQLite calls are C calls: under gevent or eventlet, a write that waits on the
disk would freeze every connection of the worker. Each call is handed to a
single dedicated thread (which also makes the store's connection single-threaded);
only the calling green thread waits for it, and for at most the profile's ``store_timeout``.

A call its caller gave up on is skipped when the thread reaches it, so a queue
built up behind a slow call drains at once instead of running work nobody waits
for. While the thread is stuck on one call for twice the timeout (a hung disk),
new calls are refused at once rather than queued behind it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from chat.stores.history import History, Message, StoreUnavailable

T = TypeVar("T")

#: A call running this many times the timeout is stuck (SQLite's own lock wait ends after one timeout).
STUCK_AFTER = 2

Submit = Callable[[Callable[[], Any], float], Any]


class _Expired(Exception):
    """The caller had given up before the thread reached the call."""


def _submitter(async_mode: str) -> Submit:
    """``submit(fn, timeout)``: run ``fn`` on one OS thread; its result, or TimeoutError after ``timeout``."""
    if async_mode == "gevent":
        return _GeventThread().submit
    if async_mode == "eventlet":
        import eventlet
        from eventlet import patcher, tpool

        lock = patcher.original("threading").Lock()

        def run_locked(fn: Callable[[], T]) -> T:
            with lock:
                return fn()

        def submit_eventlet(fn: Callable[[], T], timeout: float) -> T:
            try:
                with eventlet.Timeout(timeout):
                    return tpool.execute(run_locked, fn)
            except eventlet.Timeout:
                raise TimeoutError from None

        return submit_eventlet
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")

    def submit_thread(fn: Callable[[], T], timeout: float) -> T:
        try:
            return executor.submit(fn).result(timeout)
        except FutureTimeout:
            raise TimeoutError from None

    return submit_thread


class _GeventThread:
    """One OS thread for store calls, whose answers wake their green threads in batches.

    gevent's ThreadPool(1) lets one call in at a time, and the next caller in only after gevent's
    loop has come round to deliver the last answer: one store call per pass of the loop. Under a
    burst of joins a pass ran every join's presence broadcast first, so 5,000 joins waited for
    5,000 passes, most past the store timeout (a reconnect storm left 540 of 3,000 clients out).
    Here callers queue their calls at once, the thread answers them in turn, and one wake-up of
    the loop (an ``async_`` watcher, which any thread may signal) hands over every answer ready.
    """

    def __init__(self) -> None:
        from gevent import Timeout
        from gevent.event import AsyncResult

        self._answer, self._expired = AsyncResult, Timeout  # imported here: gevent mode only
        self._jobs: Any = None  # started on first use, in the process and hub that use it

    def _start(self) -> None:
        import gevent
        from gevent import monkey

        self._jobs = monkey.get_original("queue", "SimpleQueue")()
        self._done: deque[tuple[Any, bool, Any]] = deque()  # (answer, ok, value or exception)
        self._wake = gevent.get_hub().loop.async_()
        self._wake.ref = False  # waiting callers keep the loop alive, not this watcher
        self._wake.start(self._deliver)
        monkey.get_original("_thread", "start_new_thread")(self._work, ())

    def _work(self) -> None:
        jobs, done, wake = self._jobs, self._done, self._wake.send
        while True:
            fn, answer = jobs.get()
            try:
                done.append((answer, True, fn()))
            except BaseException as error:  # handed to the caller, as a ThreadPool would
                done.append((answer, False, error))
            wake()

    def _deliver(self) -> None:
        done = self._done
        while done:
            answer, ok, value = done.popleft()
            if ok:
                answer.set(value)
            else:
                answer.set_exception(value)

    def submit(self, fn: Callable[[], T], timeout: float) -> T:
        if self._jobs is None:
            self._start()
        answer = self._answer()
        self._jobs.put((fn, answer))
        try:
            return answer.get(timeout=timeout)
        except self._expired:
            # The store may have answered in time while this green thread waited for the CPU
            # (a burst of joins, each with its presence broadcast): the store is not at fault.
            self._deliver()
            if answer.ready():
                return answer.get()
            raise TimeoutError from None


class StoreThread:
    """One OS thread that runs store calls in turn, each answered within ``timeout`` seconds."""

    def __init__(self, async_mode: str, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._submit = _submitter(async_mode)
        self._clock = clock
        self._busy_since: float | None = None  # written by the store thread, read by callers

    def run(self, operation: str, fn: Callable[[], T], timeout: float | None = None) -> T:
        """``fn()`` on the thread; StoreUnavailable if it cannot be answered in time."""
        timeout = self.timeout if timeout is None else timeout
        busy_since = self._busy_since
        if busy_since is not None and self._clock() - busy_since > STUCK_AFTER * self.timeout:
            raise StoreUnavailable(
                operation, f"the store has been stuck on one call for {self._clock() - busy_since:.0f} s"
            )
        deadline = self._clock() + timeout

        def job() -> tuple[bool, Any]:
            # Errors are handed back, not raised: a thread pool would print each one's traceback.
            if self._clock() > deadline:
                return False, _Expired()
            self._busy_since = self._clock()
            try:
                return True, fn()
            except Exception as error:
                return False, error
            finally:
                self._busy_since = None

        try:
            ok, value = self._submit(job, timeout)
        except TimeoutError:
            raise StoreUnavailable(operation, f"no answer within {timeout:g} s") from None
        if ok:
            return value
        if isinstance(value, _Expired):
            raise StoreUnavailable(operation, f"no answer within {timeout:g} s")
        raise value


class OffloadedHistory:
    """A History whose calls all run on one thread of their own, each within ``timeout`` seconds."""

    def __init__(self, open_store: Callable[[], History], async_mode: str, timeout: float = 5.0) -> None:
        self.thread = StoreThread(async_mode, timeout)
        # Opening may migrate an old file (seq numbers): give it longer than one message.
        self._store: History = self.thread.run("open", open_store, timeout=max(timeout, 600))

    def _call(self, method: str, *args: Any) -> Any:
        return self.thread.run(method, lambda: getattr(self._store, method)(*args))

    def add(self, room: str, name: str, text: str, client_id: str, sub: str = "") -> tuple[Message, bool]:
        return self._call("add", room, name, text, client_id, sub)

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        return self._call("after", room, since, limit)

    def latest(self, room: str, limit: int) -> list[Message]:
        return self._call("latest", room, limit)

    def prune_older_than(self, cutoff_ms: int, batch: int) -> int:
        return self._call("prune_older_than", cutoff_ms, batch)

    def probe(self) -> None:
        self._call("probe")

    def close(self) -> None:
        self._call("close")
