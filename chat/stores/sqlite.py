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
CREATE TABLE IF NOT EXISTS room_seqs (
    room TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;
"""
#: Files made before ``seq`` existed get the column, numbered per room in id order, once.
MIGRATE_SEQ = """
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET seq = (
    SELECT COUNT(*) FROM messages AS earlier WHERE earlier.room = messages.room AND earlier.id <= messages.id
);
INSERT OR REPLACE INTO room_seqs (room, last_seq) SELECT room, MAX(seq) FROM messages GROUP BY room;
"""
SEQ_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS messages_by_room_seq ON messages (room, seq)"
#: Files made before ``sub`` existed get the column, "" for every message (no sender identity was kept).
MIGRATE_SUB = "ALTER TABLE messages ADD COLUMN sub TEXT NOT NULL DEFAULT ''"
COLUMNS = "id, room, name, text, ts, client_id, seq, sub"


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel.db`` is relative to the project folder, ``sqlite:////abs.db`` absolute."""
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else PROJECT_ROOT / path


class SqliteHistory:
    """History in one SQLite file: WAL journal, every add committed before it returns.

    Not thread-safe on its own: ``open_history`` hands every call to one thread.
    ``max_messages`` (0 = unlimited) is kept per room in the add's own transaction.
    """

    def __init__(self, path: Path, max_messages: int = 0, busy_timeout: float = 5.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # ``timeout``: how long a write waits for another connection's lock before it fails.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        self.max_messages = max_messages
        # WAL + NORMAL: a committed message survives the process being killed (-9).
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(messages)")}
        if "seq" not in columns:
            self.db.executescript(f"BEGIN IMMEDIATE; {MIGRATE_SEQ} COMMIT;")
        if "sub" not in columns:
            _add_column(self.db, MIGRATE_SUB)
        self.db.execute(SEQ_INDEX)
        self.path = path
        self._file = _identity(path)

    def add(self, room: str, name: str, text: str, client_id: str, sub: str = "") -> tuple[Message, bool]:
        ts = int(time.time() * 1000)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            known = self.db.execute(
                f"SELECT {COLUMNS} FROM messages WHERE room = ? AND client_id = ?", (room, client_id)
            ).fetchone()
            if known is not None:
                self.db.execute("COMMIT")
                return Message(*known), False
            (seq,) = self.db.execute(
                "INSERT INTO room_seqs (room, last_seq) VALUES (?, 1) "
                "ON CONFLICT (room) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
                (room,),
            ).fetchone()
            cursor = self.db.execute(
                "INSERT INTO messages (room, name, text, ts, client_id, seq, sub) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (room, name, text, ts, client_id, seq, sub),
            )
            if self.max_messages and seq > self.max_messages:
                self.db.execute(
                    "DELETE FROM messages WHERE room = ? AND seq <= ?", (room, seq - self.max_messages)
                )
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        return Message(cursor.lastrowid, room, name, text, ts, client_id, seq, sub), True

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

    def prune_older_than(self, cutoff_ms: int, batch: int) -> int:
        """Delete the oldest messages (in id order, which is time order here) older than the cutoff."""
        rows = self.db.execute("SELECT id, ts FROM messages ORDER BY id LIMIT ?", (batch,)).fetchall()
        last_old = None
        for row_id, ts in rows:
            if ts >= cutoff_ms:
                break
            last_old = row_id
        if last_old is None:
            return 0
        return self.db.execute("DELETE FROM messages WHERE id <= ?", (last_old,)).rowcount

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


def _add_column(db: sqlite3.Connection, statement: str) -> None:
    """One ``ALTER TABLE ... ADD COLUMN`` (atomic by itself, no row rewritten); another process
    opening the same file at the same moment may have added it first, which is as good."""
    try:
        db.execute(statement)
    except sqlite3.OperationalError as error:
        if "duplicate column" not in str(error):
            raise


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device, inode), or None when there is no regular file there."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino) if path.is_file() else None
