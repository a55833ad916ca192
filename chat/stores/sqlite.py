"""History in one SQLite file, the default store: nothing to install or run beside the gateway."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from chat.stores.history import Message

#: ``sqlite:///relative.db`` is relative to the project folder.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


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
    return path if path.is_absolute() else PROJECT_ROOT / path


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
