"""The transport names a profile may write, as data: current names, socket.io 0.9 aliases, retired names.

Profiles are data, and these are their vocabulary. What each name *means* on the wire
(``transports/``) is keyed by these names, and a test keeps the two equal.
"""

from __future__ import annotations

#: Engine.IO v4's transports, in no particular order.
NAMES: tuple[str, ...] = ("polling", "websocket")

#: socket.io 0.9 names that still mean something in Engine.IO v4.
ALIASES: dict[str, str] = {
    "xhr-polling": "polling",
    "jsonp-polling": "polling",
}

#: socket.io 0.9 names with no Engine.IO v4 equivalent, and what to use instead.
RETIRED: dict[str, str] = {
    "htmlfile": "it was an IE-only streaming hack; use 'polling', which works in every browser",
    "flashsocket": "Flash is gone from every browser; use 'websocket', with 'polling' as fallback",
}


def canonical_name(name: str) -> str:
    """The Engine.IO v4 name a (possibly socket.io 0.9) transport name stands for; ValueError says why not."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key in NAMES:
        return key
    if key in RETIRED:
        raise ValueError(f"transport {name!r} no longer exists in Engine.IO v4: {RETIRED[key]}")
    valid = ", ".join([*NAMES, *ALIASES])
    raise ValueError(f"unknown transport {name!r}; valid names: {valid}")
