"""Every store call gets an answer: a result, or ``StoreUnavailable`` within ``store_timeout``.

``GuardedHistory`` wraps a backend: the backend's own errors (``sqlite3.Error`` for a full disk or a
read-only file, ``redis.RedisError`` for Redis down, ``OSError``) and timeouts become
``StoreUnavailable``, each is counted in ``rolegate_store_failures_total{operation}``, and
``FailureLog`` logs one line per kind of failure per minute with how many happened, not a
traceback per message. Anything else is our bug and still reaches ``@acked`` (``internal_error``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chat.stores.history import History, Message, StoreUnavailable
from ops import metrics

log = logging.getLogger("rolegate.chat.store")

T = TypeVar("T")

#: Seconds between two log lines about the same kind of failure.
LOG_EVERY = 60.0


class FailureLog:
    """One log line per (operation, reason) per ``every`` seconds, counting what it held back."""

    def __init__(
        self,
        emit: Callable[[str], None],
        every: float = LOG_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._every = every
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def failed(self, operation: str, reason: str) -> bool:
        """Note one failure; logs (and returns True) when its kind has been quiet long enough."""
        key = (operation, reason)
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        self._last[key] = now
        more = (
            f" (and {held} more like it in the last {now - last:.0f} s)" if held and last is not None else ""
        )
        self._emit(f"history store unavailable: {operation} failed: {reason}{more}")
        return True


def describe_error(error: BaseException) -> str:
    """One line: the error's type and message, no traceback."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class GuardedHistory:
    """A History whose every call returns, or raises StoreUnavailable, within the store's bound."""

    def __init__(
        self,
        store: History,
        errors: tuple[type[BaseException], ...],
        bound: Callable[[str, Callable[[], Any]], Any] | None = None,
        failures: FailureLog | None = None,
    ) -> None:
        self.store = store
        self._errors = (StoreUnavailable, OSError, TimeoutError, *errors)
        self._bound = bound or (lambda operation, fn: fn())
        self.failures = failures or FailureLog(log.warning)

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return self._bound(operation, fn)
        except self._errors as error:
            reason = error.reason if isinstance(error, StoreUnavailable) else describe_error(error)
            metrics.count_store_failure(operation)
            self.failures.failed(operation, reason)
            raise StoreUnavailable(operation, reason) from None

    def add(self, room: str, name: str, text: str, client_id: str, sub: str = "") -> tuple[Message, bool]:
        return self._call("add", lambda: self.store.add(room, name, text, client_id, sub))

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        return self._call("after", lambda: self.store.after(room, since, limit))

    def latest(self, room: str, limit: int) -> list[Message]:
        return self._call("latest", lambda: self.store.latest(room, limit))

    def prune_older_than(self, cutoff_ms: int, batch: int) -> int:
        return self._call("prune", lambda: self.store.prune_older_than(cutoff_ms, batch))

    def probe(self) -> None:
        """The readiness probe (/readyz), bounded like every other call."""
        self._call("probe", self.store.probe)

    def close(self) -> None:
        self.store.close()
