"""Accepting connections when the process is out of file descriptors: back off, say so once a minute.

gevent's StreamServer, on EMFILE from accept(), hands the error to the hub, which prints a
traceback, and retries after a delay that doubles from 10 ms to at most 1 s: a traceback every
second for as long as the descriptors stay used up (a slowloris run logged 62). Here the server
stops accepting for a while (0.1 s, doubling to 2 s), logs one warning line a minute at most, and
starts accepting again by itself; meanwhile new connections wait in the listen backlog.
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any

log = logging.getLogger("rolegate.serving")

#: accept() errors that mean "no descriptor or buffer to give right now", not a broken socket.
OUT_OF_RESOURCES = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))
#: At most one warning line per this many seconds.
WARN_EVERY = 60.0
FIRST_PAUSE = 0.1
LONGEST_PAUSE = 2.0


class AcceptBackoff:
    """Mixin for a gevent StreamServer (pywsgi's WSGIServer)."""

    loop: Any
    _timer: Any

    _pause = FIRST_PAUSE
    _last_warning = float("-inf")
    _refused_since_warning = 0

    def do_read(self) -> Any:
        try:
            accepted = super().do_read()  # type: ignore[misc]
        except OSError as error:
            if error.errno not in OUT_OF_RESOURCES:
                raise
            self._back_off(error)
            return None
        self._pause = FIRST_PAUSE
        return accepted

    def _back_off(self, error: OSError) -> None:
        self._refused_since_warning += 1
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY:
            log.warning(
                "out of file descriptors (%s): not accepting new connections for a moment, "
                "%d time(s) since the last warning; raise `ulimit -n` or lower worker_connections",
                errno.errorcode.get(error.errno, error.errno),
                self._refused_since_warning,
            )
            self._last_warning = now
            self._refused_since_warning = 0
        # What gevent's BaseServer does on an accept error, without the traceback.
        self.stop_accepting()  # type: ignore[attr-defined]
        self._timer = self.loop.timer(self._pause)
        self._timer.start(self._start_accepting_if_started)  # type: ignore[attr-defined]
        self._pause = min(LONGEST_PAUSE, self._pause * 2)
