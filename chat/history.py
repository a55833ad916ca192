"""Chat history: one small store interface, SQLite behind it by default.

Every message is committed before it is acknowledged, so a client that got an
ack knows the message survives a crash. ``client_id`` makes a resend after a
reconnect idempotent: the same (room, client_id) is stored once.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Message:
    """One stored chat message, as clients receive it."""

    id: int
    room: str
    name: str
    text: str
    ts: int  # milliseconds since the epoch, server time
    client_id: str

    def to_wire(self) -> dict:
        return asdict(self)


class History(Protocol):
    """What the chat needs from a store; a second backend implements the same four calls."""

    def add(self, room: str, name: str, text: str, client_id: str) -> tuple[Message, bool]:
        """Store a message; returns it and whether it is new (False: a resend of ``client_id``)."""

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        """Messages of ``room`` with id > ``since``, oldest first, at most ``limit``; and if more wait."""

    def latest(self, room: str, limit: int) -> list[Message]:
        """The last ``limit`` messages of ``room``, oldest first."""

    def close(self) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    ts INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    UNIQUE (room, client_id)
);
CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);
"""
COLUMNS = "id, room, name, text, ts, client_id"


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel.db`` is relative to the project folder, ``sqlite:////abs.db`` absolute."""
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else ROOT / path


class SqliteHistory:
    """History in one SQLite file: WAL journal, every add committed before it returns.

    Not thread-safe on its own: ``open_history`` hands every call to one thread.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # WAL + NORMAL: a committed message survives the process being killed (-9).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def add(self, room: str, name: str, text: str, client_id: str) -> tuple[Message, bool]:
        ts = int(time.time() * 1000)
        try:
            cursor = self.db.execute(
                "INSERT INTO messages (room, name, text, ts, client_id) VALUES (?, ?, ?, ?, ?)",
                (room, name, text, ts, client_id),
            )
        except sqlite3.IntegrityError:
            row = self.db.execute(
                f"SELECT {COLUMNS} FROM messages WHERE room = ? AND client_id = ?", (room, client_id)
            ).fetchone()
            return Message(*row), False
        return Message(cursor.lastrowid, room, name, text, ts, client_id), True

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM messages WHERE room = ? AND id > ? ORDER BY id LIMIT ?",
            (room, since, limit + 1),
        ).fetchall()
        return [Message(*row) for row in rows[:limit]], len(rows) > limit

    def latest(self, room: str, limit: int) -> list[Message]:
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM messages WHERE room = ? ORDER BY id DESC LIMIT ?", (room, limit)
        ).fetchall()
        return [Message(*row) for row in reversed(rows)]

    def close(self) -> None:
        self.db.close()


def describe(url: str) -> str:
    """Where history is kept, for the start-up log: a file path, or a URL without its password."""
    if url.startswith("sqlite:///"):
        return f"SQLite file {sqlite_path(url)}"
    parts = urlsplit(url)
    return f"Redis at {parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def open_history(url: str, async_mode: str) -> History:
    """The store a ``database_url`` names (the schemes are ``config.settings.DATABASE_SCHEMES``)."""
    if url.startswith(("redis://", "rediss://")):
        from chat.redis_history import RedisHistory

        return RedisHistory(url)  # its sockets yield to green threads by themselves
    from chat.offload import OffloadedHistory

    return OffloadedHistory(lambda: SqliteHistory(sqlite_path(url)), async_mode)
