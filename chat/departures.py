"""A member whose connection ended stays in its rooms for ``presence_grace`` seconds.

A reconnect storm (a network blip, a load balancer's failover, a restarted proxy) drops thousands
of connections that come back within seconds. Told at once, every drop was a ``left`` and every
return a ``joined`` to each member of the room: a million presence events in the benchmark's
storm (5,000 clients in rooms of 100, bench/RESULTS.md), for member lists that flickered out and
back. Kept for the grace period instead, a member who joins again under the same name (the same
member, chat/identity.py) was never gone, and nobody is told anything; one who does not is told
as gone when the grace ends. One green thread per process ends the graces in order (the grace is
the same for every connection), rather than a timer each.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("rolegate.chat")


class Departures:
    """Connections that ended, each handed to ``depart`` once its grace is over."""

    def __init__(self, grace: float, sio: Any, depart: Callable[[str], None]) -> None:
        self.grace = grace
        self._sio = sio  # for its background task and sleep, in the server's async mode
        self._depart = depart
        self._due: deque[tuple[float, str]] = deque()  # (when, sid), in the order they ended
        #: The sids in their grace now (a ``leave`` of the same name ends theirs in its room).
        self.pending: set[str] = set()
        self._running = False

    def __len__(self) -> int:
        return len(self._due)

    def add(self, sid: str) -> None:
        """``sid``'s connection ended: depart it after the grace (at once when the grace is 0)."""
        if self.grace <= 0:
            self._depart(sid)
            return
        self._due.append((time.monotonic() + self.grace, sid))
        self.pending.add(sid)
        if not self._running:
            self._running = True
            self._sio.start_background_task(self._run)

    def _run(self) -> None:
        due = self._due
        while True:
            while due:
                when, sid = due[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._sio.sleep(wait)
                    continue
                due.popleft()
                self.pending.discard(sid)
                try:
                    self._depart(sid)
                except Exception:  # one departure's failure must not strand the others
                    log.exception("could not end the grace of sid %s", sid)
            self._running = False
            if not due or self._running:  # nothing came meanwhile, or another runner took it
                return
            self._running = True
