"""seam/rooms.py: the room index answers as python-socketio's scans do, through joins, leaves,
closed rooms and disconnects."""

from __future__ import annotations

import random

import socketio

from seam.rooms import IndexedManager


def managers() -> tuple[socketio.Manager, IndexedManager]:
    made = []
    for cls in (socketio.Manager, IndexedManager):
        server = socketio.Server(async_mode="threading", client_manager=cls())
        made.append(server.manager)
    return made[0], made[1]


def named(rooms: list, sid: str) -> list[str]:
    """The rooms, with the connection's own room (named by its sid) as "own"."""
    return sorted("own" if room == sid else room for room in rooms)


def test_the_index_gives_the_same_rooms_as_a_scan_through_random_churn():
    plain, indexed = managers()
    rng = random.Random(7)
    sids: list[str] = []
    for step in range(2000):
        action = rng.random()
        if action < 0.3 or not sids:
            eio = f"eio{step}"
            sids.append(plain.connect(eio, "/"))
            indexed.connect(eio, "/")
        sid = rng.choice(sids)
        other = indexed.sid_from_eio_sid(plain.eio_sid_from_sid(sid, "/"), "/")
        room = f"room{rng.randrange(5)}"
        if action < 0.55:
            plain.enter_room(sid, "/", room)
            indexed.enter_room(other, "/", room)
        elif action < 0.75:
            plain.leave_room(sid, "/", room)
            indexed.leave_room(other, "/", room)
        elif action < 0.8:
            plain.close_room(room, "/")
            indexed.close_room(room, "/")
        elif action < 0.95:
            plain.disconnect(sid, "/")
            indexed.disconnect(other, "/")
            sids.remove(sid)
            continue
        assert named(plain.get_rooms(sid, "/"), sid) == named(indexed.get_rooms(other, "/"), other)
    # Room memberships (with each sid's own room) end up the same, sid names aside.
    shape = lambda m: sorted(len(members) for room, members in m.rooms.get("/", {}).items())  # noqa: E731
    assert shape(plain) == shape(indexed)
    assert len(indexed._rooms_of) == len(sids)
