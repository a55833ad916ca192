"""Check what a client sent before anything acts on it: wrong shapes become ChatErrors."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from chat.errors import (
    BAD_REQUEST,
    INVALID_NAME,
    INVALID_PAYLOAD,
    INVALID_ROOM,
    TEXT_TOO_LONG,
    ChatError,
)

MAX_ROOM = 64
MAX_NAME = 32
MAX_CLIENT_ID = 64
#: The largest id SQLite (and a Redis score read back as an integer) can hold: 64-bit signed.
MAX_ID = 2**63 - 1

#: A UTF-16 surrogate on its own: JSON's "\ud800" escape decodes to it, UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _fields(data: Any, event: str, required: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise ChatError(INVALID_PAYLOAD, f"{event} needs an object like {{{', '.join(required)}}}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ChatError(INVALID_PAYLOAD, f"{event} is missing {', '.join(missing)}")
    return data


def encodable(value: str, field: str) -> str:
    """``value`` if it is Unicode text UTF-8 can carry; a lone surrogate is ``bad_request``."""
    found = _SURROGATE.search(value)
    if found:
        raise ChatError(
            BAD_REQUEST,
            f"{field} holds a lone surrogate (U+{ord(found.group()):04X} at {found.start()}), "
            "which is not Unicode text",
        )
    return value


def invisible(value: str) -> str | None:
    """The first format character (Unicode category Cf: bidi overrides and isolates, zero-width
    characters) in ``value``, as ``U+XXXX``, or None."""
    for char in value:
        if unicodedata.category(char) == "Cf":
            return f"U+{ord(char):04X}"
    return None


def _label(value: Any, field: str, longest: int, code: str) -> str:
    """A room or a name: a string of printable characters, trimmed, with nothing invisible in it."""
    if not isinstance(value, str) or not value.strip():
        raise ChatError(code, f"{field} must be a non-empty string")
    value = encodable(value, field).strip()
    hidden = invisible(value)
    if hidden:
        raise ChatError(
            code, f"{field} may not hold invisible or direction-changing characters ({hidden} is one)"
        )
    if len(value) > longest or not value.isprintable():
        raise ChatError(code, f"{field} must be at most {longest} printable characters")
    return value


def room_of(data: Any, event: str) -> str:
    return _label(_fields(data, event, ("room",))["room"], "room", MAX_ROOM, INVALID_ROOM)


def since_of(value: Any) -> int | None:
    """``since``: absent, or a message id, an integer 0 .. 2**63-1."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and not 0 <= value <= MAX_ID:
        value = int(value)  # an integer past 64 bits arrives as a float from the JSON parser
    if isinstance(value, bool) or not isinstance(value, int):
        raise ChatError(INVALID_PAYLOAD, "since must be the last message id seen (an integer >= 0)")
    if not 0 <= value <= MAX_ID:
        raise ChatError(BAD_REQUEST, f"since must be between 0 and {MAX_ID} (a message id)")
    return value


@dataclass(frozen=True)
class Join:
    room: str
    name: str
    since: int | None

    @classmethod
    def parse(cls, data: Any) -> Join:
        fields = _fields(data, "join", ("room", "name"))
        since = since_of(fields.get("since"))
        return cls(room_of(fields, "join"), _label(fields["name"], "name", MAX_NAME, INVALID_NAME), since)


@dataclass(frozen=True)
class Post:
    room: str
    text: str
    client_id: str

    @classmethod
    def parse(cls, data: Any, max_text_length: int) -> Post:
        fields = _fields(data, "message", ("room", "text", "client_id"))
        text, client_id = fields["text"], fields["client_id"]
        if not isinstance(text, str) or not text.strip():
            raise ChatError(INVALID_PAYLOAD, "text must be a non-empty string")
        if len(text) > max_text_length:
            raise ChatError(TEXT_TOO_LONG, f"text is {len(text)} characters; the limit is {max_text_length}")
        if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
            raise ChatError(INVALID_PAYLOAD, f"client_id must be a string of 1-{MAX_CLIENT_ID} characters")
        room = room_of(fields, "message")
        return cls(room, encodable(text, "text"), encodable(client_id, "client_id"))
