"""What the chat needs from a history store: ``Message`` and the ``History`` interface.

Every message is committed before it is acknowledged, so a client that got an
ack knows the message survives a crash. ``client_id`` makes a resend after a
reconnect idempotent: the same (room, client_id) is stored once (whether a resend is the
sender's own is the caller's to judge: ``chat.identity.same_sender``). ``seq`` is handed out
in the same transaction as the insert, so it has no holes.

A store that fails or does not answer raises ``StoreUnavailable`` (``chat/stores/guard.py``
turns every backend's errors into it, within the profile's ``store_timeout``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    """One stored chat message, as clients receive it."""

    id: int
    room: str
    name: str
    text: str
    ts: int  # milliseconds since the epoch, server time
    client_id: str
    seq: int  # 1, 2, 3... within the room, with no holes: a client that sees a jump missed one
    sub: str = ""  # the sender's token ``sub`` with auth=jwt; "" with auth=none and from the server API

    def to_wire(self) -> dict:
        """The message as clients get it: ``sub`` only when there is one (auth=none keeps its shape)."""
        wire = asdict(self)
        if not self.sub:
            del wire["sub"]
        return wire


class StoreUnavailable(Exception):
    """The store failed or did not answer in time; nothing is known to be stored."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"{operation}: {reason}")
        self.operation = operation
        self.reason = reason


class History(Protocol):
    """What the chat needs from a store; a second backend implements the same calls."""

    def add(self, room: str, name: str, text: str, client_id: str, sub: str = "") -> tuple[Message, bool]:
        """Store a message; returns it and whether it is new (False: ``client_id`` was stored before,
        and the message returned is the stored one, whoever sent it)."""

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        """Messages of ``room`` with id > ``since``, oldest first, at most ``limit``; and if more wait."""

    def latest(self, room: str, limit: int) -> list[Message]:
        """The last ``limit`` messages of ``room``, oldest first."""

    def prune_older_than(self, cutoff_ms: int, batch: int) -> int:
        """Delete at most ``batch`` of the oldest messages with ``ts`` < ``cutoff_ms``; how many went."""

    def probe(self) -> None:
        """Write a token and read it back, away from chat rooms; raise when the store cannot (/readyz)."""

    def close(self) -> None: ...
