"""python-engineio's query parsing, without urllib's cost on every request.

``engineio.server.Server.handle_request`` reads each request's query with
``urllib.parse.parse_qs``: 4 us, twice per long-polling round trip. ``parse_qs`` here returns the
same dict in about 1 us for a query without escapes (what every Socket.IO client sends) and asks
urllib for any other. ``install()`` (called when the gateway's server is made, seam/server.py)
gives python-engineio's server module a ``urllib`` with it (listed in seam/__init__.py
``PRIVATE_NAMES``).
"""

from __future__ import annotations

import types
import urllib.parse
from typing import Any

import engineio.server


def parse_qs(query: Any, *args: Any, **kwargs: Any) -> dict[str, list[str]]:
    """``urllib.parse.parse_qs(query)``: each name's values; a field without a value is dropped."""
    if args or kwargs or not isinstance(query, str) or "%" in query or "+" in query:
        return urllib.parse.parse_qs(query, *args, **kwargs)
    found: dict[str, list[str]] = {}
    for field in query.split("&"):
        name, _, value = field.partition("=")
        if value:
            values = found.get(name)
            if values is None:
                found[name] = [value]
            else:
                values.append(value)
    return found


#: What python-engineio's server module sees as ``urllib`` once installed.
URLLIB = types.SimpleNamespace(parse=types.SimpleNamespace(parse_qs=parse_qs))


def install() -> None:
    engineio.server.urllib = URLLIB  # type: ignore[attr-defined]
