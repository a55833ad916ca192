"""On SIGTERM, close keep-alive connections that wait for a next request, instead of waiting on them.

pywsgi reads the next request of a keep-alive connection as soon as it answered the last one, and
a browser keeps such connections open for minutes (the page, its scripts, answered long-polls).
gunicorn's graceful stop waits for every connection's handler, so these idle connections held the
worker for its whole graceful_timeout. While the process drains (ops/shutdown.py):
- a connection waiting for its next request is shut down at once (its read returns at its end);
- a connection that just answered a request is closed instead of waiting for another;
- a connection opened meanwhile gets one second to send its request (a refusal then tells it
  to reconnect elsewhere), so a browser's speculative pre-connection cannot hold the worker.
A request being read or answered is never cut. Mixed into both pywsgi handlers (serving/worker.py,
``standalone_handler``).
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import gevent

from ops import shutdown

#: Seconds a connection opened while draining has to send its first request line.
FIRST_REQUEST_WHILE_DRAINING = 1.0

#: Set while the process drains (ops/shutdown.py).
DRAINING = shutdown.DRAINING

#: Handlers blocked reading a request line now, or waiting for a keep-alive connection's next
#: request (serving/handler.py ``ConnectionHygiene._next_request_arrives`` adds itself).
WAITING: set[Any] = set()


class CloseIdleWhenDraining:
    """Mixin for a pywsgi handler: the wait for a request line ends when the process drains."""

    socket: Any
    _answered: bool = False

    def read_requestline(self) -> str:
        if DRAINING.is_set():
            if self._answered:
                return ""  # pywsgi closes a connection whose request line is empty
            with gevent.Timeout(FIRST_REQUEST_WHILE_DRAINING, False):
                return super().read_requestline()  # type: ignore[misc]
            return ""
        WAITING.add(self)
        try:
            return super().read_requestline()  # type: ignore[misc]
        finally:
            WAITING.discard(self)
            self._answered = True


def close_waiting_connections() -> int:
    """Shut down every connection waiting for a request line; how many."""
    waiting = list(WAITING)
    for handler in waiting:
        sock = getattr(handler, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
    return len(waiting)


shutdown.on_drain(close_waiting_connections)
