"""Which rooms a token allows: its ``rooms`` claim is a list of glob patterns (``team-*``)."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def room_allowed(patterns: Iterable[str] | None, room: str) -> bool:
    """Whether ``room`` matches one of ``patterns``; ``None`` (no ``rooms`` claim) allows any room.

    Shell-style globs, case-sensitive as room names are: ``*`` any run of characters, ``?`` one
    character, ``[abc]`` one of a set. ``[]`` (an empty list) allows no room.
    """
    if patterns is None:
        return True
    return any(fnmatchcase(room, pattern) for pattern in patterns)
