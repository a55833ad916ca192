"""``/readyz``: whether this process can do its job now, check by check.

``/healthz`` says the process answers (liveness: restart it if not). ``/readyz`` says whether
to send it traffic:
- ``history``: the history store takes a real write and gives it back (``History.probe``), at
  most once every ``PROBE_EVERY`` seconds, the last result kept in between;
- ``queue`` (only with a message queue): the queue's listener is subscribed and hears this
  process's own heartbeat (seam/queue.py); a deaf listener loses every other process's broadcasts;
- ``draining``: this process is not shutting down (ops/shutdown.py).
Each check is also the gauge ``rolegate_ready{check=...}`` in ``/metrics``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from prometheus_client import Gauge

from ops import shutdown

log = logging.getLogger("rolegate")

PROBE_EVERY = 5.0  # seconds between two store probes
PROBE_STUCK = 10.0  # a probe still running after this long counts as failed

READY = Gauge("rolegate_ready", "1 when the readiness check passes (GET /readyz), by check", ["check"])
QUEUE_HEARD = Gauge(
    "rolegate_queue_heartbeat_age_seconds",
    "Seconds since the message queue's listener last heard this process's heartbeat (0 without a queue)",
)


class Readiness:
    """The checks behind ``/readyz`` for one process."""

    def __init__(self, history: Any, queue: Any = None) -> None:
        self.history = history
        self.queue = queue  # seam.queue.ObservedRedisManager, or None without a message queue
        self._lock = threading.Lock()
        self._probed_at: float | None = None
        self._probing_since: float | None = None
        self._history: tuple[bool, str] = (False, "not probed yet")
        self._logged: dict[str, bool] = {}

    def _probe_history(self) -> tuple[bool, str]:
        started = time.monotonic()
        try:
            self.history.probe()
        except Exception as exc:  # any failure of the store is the answer, in words
            return False, f"the history store cannot write: {type(exc).__name__}: {exc}"
        return True, f"wrote and read back in {1000 * (time.monotonic() - started):.1f} ms"

    def history_check(self) -> tuple[bool, str]:
        """The last probe's result; a new probe if the last is older than PROBE_EVERY."""
        now = time.monotonic()
        with self._lock:
            if self._probing_since is not None:
                if now - self._probing_since > PROBE_STUCK:
                    return (
                        False,
                        f"the history store has not answered a probe in {now - self._probing_since:.0f} s",
                    )
                return self._history  # another request is probing: its answer comes soon
            if self._probed_at is not None and now - self._probed_at < PROBE_EVERY:
                return self._history
            self._probing_since = now
        result = self._probe_history()
        with self._lock:
            self._history, self._probed_at, self._probing_since = result, time.monotonic(), None
        return result

    def checks(self) -> dict[str, tuple[bool, str]]:
        """Every check's (passes, in words), and the gauges set to match."""
        results = {"history": self.history_check()}
        if self.queue is not None:
            results["queue"] = self.queue.listener_state()
            heard = self.queue.heard_ago()
            QUEUE_HEARD.set(heard if heard is not None else float("inf"))
        draining = shutdown.DRAINING.is_set()
        results["draining"] = (not draining, "shutting down" if draining else "serving")
        for name, (ok, detail) in results.items():
            READY.labels(name).set(1 if ok else 0)
            if self._logged.get(name, True) != ok and name != "draining":
                (log.info if ok else log.warning)(
                    "readiness check %s %s: %s", name, "passes again" if ok else "fails", detail
                )
            self._logged[name] = ok
        return results
