"""History in one SQLite file, the default store: nothing to install or run beside the gateway."""

from __future__ import annotations

import sqlite3
import time
import uuid
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
        self.path = path
        self._file = _identity(path)

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

    def probe(self) -> None:
        """Write a token into a one-row table of its own and read it back, on the store's connection.

        Also checks that the file at the path is still the file this connection writes: one removed
        or replaced under a running gateway takes every message written since with it at restart.
        """
        if _identity(self.path) != self._file:
            raise RuntimeError(
                f"{self.path} was removed or replaced since start-up; messages stored now are lost"
            )
        token = uuid.uuid4().hex
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT)"
        )
        self.db.execute("INSERT OR REPLACE INTO probe (id, token) VALUES (1, ?)", (token,))
        row = self.db.execute("SELECT token FROM probe WHERE id = 1").fetchone()
        if row is None or row[0] != token:
            raise RuntimeError("SQLite gave back something else than the probe token")

    def close(self) -> None:
        self.db.close()


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device, inode), or None when there is no regular file there."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino) if path.is_file() else None
