"""Check what a client sent before anything acts on it: wrong shapes become ChatErrors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat.errors import INVALID_NAME, INVALID_PAYLOAD, INVALID_ROOM, TEXT_TOO_LONG, ChatError

MAX_ROOM = 64
MAX_NAME = 32
MAX_CLIENT_ID = 64


def _fields(data: Any, event: str, required: tuple[str, ...]) -> dict:
    if not isinstance(data, dict):
        raise ChatError(INVALID_PAYLOAD, f"{event} needs an object like {{{', '.join(required)}}}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ChatError(INVALID_PAYLOAD, f"{event} is missing {', '.join(missing)}")
    return data


def _label(value: Any, field: str, longest: int, code: str) -> str:
    """A room or a name: a string of printable characters, trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise ChatError(code, f"{field} must be a non-empty string")
    value = value.strip()
    if len(value) > longest or not value.isprintable():
        raise ChatError(code, f"{field} must be at most {longest} printable characters")
    return value


def room_of(data: Any, event: str) -> str:
    return _label(_fields(data, event, ("room",))["room"], "room", MAX_ROOM, INVALID_ROOM)


@dataclass(frozen=True)
class Join:
    room: str
    name: str
    since: int | None

    @classmethod
    def parse(cls, data: Any) -> Join:
        fields = _fields(data, "join", ("room", "name"))
        since = fields.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
            raise ChatError(INVALID_PAYLOAD, "since must be the last message id seen (an integer >= 0)")
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
        return cls(room_of(fields, "message"), text, client_id)
