"""Which rooms each connection is in, kept as it changes, so a disconnect does not scan every room.

python-socketio finds a leaving connection's rooms by testing every room of the namespace, and
every connection has a room of its own (its sid): each disconnect cost one test per connection,
and a reconnect storm of 5,000 made 25 million of them (13% of the worker's time under py-spy,
bench/RESULTS.md). ``RoomIndex`` notes each room a connection enters and leaves, and answers
``basic_disconnect`` and ``get_rooms`` from that note. Mixed into the in-process manager
(``IndexedManager``) and the Redis one (seam/queue.py).
"""

from __future__ import annotations

from typing import Any

import socketio


class RoomIndex:
    """Mixin for a python-socketio manager: (namespace, sid) -> the rooms it is in, None included."""

    rooms: dict
    callbacks: dict
    pending_connect: dict
    pending_disconnect: dict

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        # python-socketio's, with the rooms read from the index instead of found by a scan.
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]


class IndexedManager(RoomIndex, socketio.Manager):
    """python-socketio's in-process manager, with the room index."""
