"""Run a blocking store on one real OS thread, so green threads keep running.

SQLite calls are C calls: under gevent or eventlet, a write that waits on the
disk would freeze every connection of the worker. Each call is handed to a
single dedicated thread (which also makes the store's connection single-threaded);
only the calling green thread waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chat.stores.history import History, Message

T = TypeVar("T")


def single_thread_runner(async_mode: str) -> Callable[[Callable[[], T]], T]:
    """A function that runs ``fn()`` on one real OS thread and returns its result."""
    if async_mode == "gevent":
        from gevent.threadpool import ThreadPool

        pool = ThreadPool(1)
        return lambda fn: pool.apply(fn)
    if async_mode == "eventlet":
        from eventlet import patcher, tpool

        lock = patcher.original("threading").Lock()

        def run_locked(fn: Callable[[], T]) -> T:
            with lock:
                return fn()

        return lambda fn: tpool.execute(run_locked, fn)
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
    return lambda fn: executor.submit(fn).result()


class OffloadedHistory:
    """A History whose calls all run on one thread of their own."""

    def __init__(self, open_store: Callable[[], History], async_mode: str) -> None:
        self._run = single_thread_runner(async_mode)
        self._store: History = self._run(open_store)

    def _call(self, method: str, *args: Any) -> Any:
        return self._run(lambda: getattr(self._store, method)(*args))

    def add(self, room: str, name: str, text: str, client_id: str) -> tuple[Message, bool]:
        return self._call("add", room, name, text, client_id)

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        return self._call("after", room, since, limit)

    def latest(self, room: str, limit: int) -> list[Message]:
        return self._call("latest", room, limit)

    def probe(self) -> None:
        self._call("probe")

    def close(self) -> None:
        self._call("close")
