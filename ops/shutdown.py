"""Graceful shutdown: on SIGTERM, stop taking sessions and send every client elsewhere.

gunicorn's own graceful stop waits for in-flight requests, but an open WebSocket
or a held long-poll *is* an in-flight request: without help the worker waits
out its whole graceful_timeout, then cuts everyone at once. Instead, on SIGTERM:
- new handshakes get 503 (nginx's ``proxy_next_upstream http_503`` then tries
  another process; a lone gateway's clients retry until its successor is up);
- every session's transport is dropped *without* an Engine.IO close packet:
  python-socketio's client treats a close packet as "the server sent me away"
  and does not reconnect, while a dropped transport makes every client
  (python and JS) reconnect, which lands on another process.
Then the worker has nothing in flight and exits at once, well inside a host's
grace period (Heroku and Kubernetes allow 30 s).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("rolegate")

#: Set once this process is shutting down; the gate then refuses new sessions.
DRAINING = threading.Event()

#: Called once the sessions are dropped (serving/draining.py closes idle keep-alive connections).
_ON_DRAIN: list[Callable[[], Any]] = []


def on_drain(hook: Callable[[], Any]) -> None:
    """Have ``hook()`` called when this process drains."""
    if hook not in _ON_DRAIN:
        _ON_DRAIN.append(hook)


def drain(sio: Any) -> int:
    """Drop every session's transport so its client reconnects elsewhere; returns how many."""
    DRAINING.set()
    dropped = sio.drop_all_sessions()
    log.info("shutting down: told %d connected clients to reconnect (to another instance, if any)", dropped)
    for hook in _ON_DRAIN:
        hook()
    return dropped


def drain_on_sigterm(sio: Any) -> None:
    """Drain on SIGTERM, then let the server's own SIGTERM handling (gunicorn's graceful stop) run."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        if not DRAINING.is_set():
            sio.start_background_task(drain, sio)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
