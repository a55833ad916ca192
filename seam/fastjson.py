"""orjson behind the ``json`` module interface python-socketio and python-engineio call.

Both libraries call ``json.dumps(data, separators=(',', ':'))`` and ``json.loads``
for every packet. orjson is compact already; what it cannot encode (an int past
64 bits, say) or parse goes to the standard library, so nothing that worked before fails
now. One difference: a NaN or infinite float is sent as ``null`` (the standard library
wrote ``NaN``/``Infinity``, which JavaScript's JSON.parse rejects).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS
#: orjson's nesting limit ("depth limit exceeded" past it); the standard library's is the stack's.
MAX_DEPTH = 1024


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text, as ``json.dumps(obj, separators=(',', ':'))`` would give."""
    try:
        return orjson.dumps(obj, option=_OPTIONS).decode()
    except TypeError:
        kwargs.setdefault("separators", (",", ":"))
        return json.dumps(obj, **kwargs)


class TooDeep(ValueError):
    """JSON nested deeper than the parsers go: a value refused, not a packet that does not decode."""


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """Parse JSON; what orjson refuses but the standard library reads (``NaN``, ``Infinity``,
    which Python clients send) is read as before, so the handlers still see and refuse it.

    Nesting past orjson's limit (1024) is refused with ``TooDeep``: the standard library would
    recurse until RecursionError, which no decoder error handling expects."""
    if not kwargs:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc):
                raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
