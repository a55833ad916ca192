"""Who is in which room, under which name, on this process."""

from __future__ import annotations

from collections import defaultdict


class Rooms:
    """Membership both ways: a connection's rooms, and a room's members."""

    def __init__(self) -> None:
        self._by_sid: dict[str, dict[str, str]] = defaultdict(dict)  # sid -> room -> name
        self._by_room: dict[str, dict[str, str]] = defaultdict(dict)  # room -> sid -> name

    def join(self, sid: str, room: str, name: str) -> None:
        self._by_sid[sid][room] = name
        self._by_room[room][sid] = name

    def leave(self, sid: str, room: str) -> None:
        self._by_sid.get(sid, {}).pop(room, None)
        members = self._by_room.get(room)
        if members is not None:
            members.pop(sid, None)
            if not members:
                del self._by_room[room]

    def forget(self, sid: str) -> list[str]:
        """Take a connection out of every room; returns the rooms it was in."""
        rooms = list(self._by_sid.pop(sid, {}))
        for room in rooms:
            self.leave(sid, room)
        return rooms

    def name_in(self, sid: str, room: str) -> str | None:
        return self._by_sid.get(sid, {}).get(room)

    def count(self, sid: str) -> int:
        return len(self._by_sid.get(sid, {}))

    def members(self, room: str) -> list[str]:
        """Names in the room, each once, sorted."""
        return sorted(set(self._by_room.get(room, {}).values()))
