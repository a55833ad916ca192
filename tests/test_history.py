"""The history store contract, the same for SQLite (embedded default) and Redis (shared)."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, clean_env

from chat.stores import History, open_history
from config import load_profile


@pytest.fixture(params=["sqlite", "redis"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> History:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.db'}"
    else:
        url = request.getfixturevalue("redis_server").url
    store = open_history(load_profile(environ={}, settings={"database_url": url, "async_mode": "threading"}))
    yield store
    store.close()


def test_add_then_read_back_in_order(history):
    first, new = history.add("lobby", "ann", "héllo <b>", "c1")
    assert new is True
    second, _ = history.add("lobby", "bob", "second", "c2")
    history.add("other", "cid", "elsewhere", "c3")
    assert second.id > first.id
    assert [m.text for m in history.latest("lobby", 50)] == ["héllo <b>", "second"]
    assert history.after("lobby", first.id, 10) == ([second], False)


def test_a_resend_is_stored_once_and_returns_the_first(history):
    first, _ = history.add("lobby", "ann", "once", "same")
    again, new = history.add("lobby", "ann", "once", "same")
    assert (again, new) == (first, False)
    assert len(history.latest("lobby", 50)) == 1


def test_after_is_bounded_and_says_more_are_waiting(history):
    ids = [history.add("lobby", "ann", f"m{i}", f"c{i}")[0].id for i in range(5)]
    page, more = history.after("lobby", 0, 3)
    assert [m.id for m in page] == ids[:3] and more is True
    assert history.after("lobby", ids[2], 3) == (history.after("lobby", ids[2], 10)[0], False)
    assert [m.id for m in history.latest("lobby", 2)] == ids[3:]


def test_concurrent_writers_get_distinct_increasing_ids(history):
    ids: list[int] = []

    def write(n: int) -> None:
        for i in range(25):
            ids.append(history.add("busy", "w", "x", f"{n}-{i}")[0].id)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 100
    assert [m.id for m in history.after("busy", 0, 1000)[0]] == sorted(ids)


def test_unreachable_redis_stops_start_up_with_one_line():
    done = subprocess.run(
        ["python", "app.py"],
        cwd=ROOT,
        env=clean_env(GATEWAY_DATABASE_URL="redis://127.0.0.1:1/0", PORT="0"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert (
        "rolegate: configuration error: GATEWAY_DATABASE_URL: cannot use Redis at redis://127.0.0.1:1/0"
        in done.stderr
    )
    assert "Traceback" not in done.stderr


def store_for(url: str, **settings: object) -> History:
    return open_history(
        load_profile(environ={}, settings={"database_url": url, "async_mode": "threading", **settings})
    )


def test_seq_counts_each_room_from_one_without_holes_under_concurrent_writers(history):
    def write(n: int) -> None:
        for i in range(20):
            history.add(f"room{n % 2}", "w", "x", f"{n}-{i}")
            history.add(f"room{n % 2}", "w", "x", f"{n}-{i}")  # a resend takes no number

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for room in ("room0", "room1"):
        messages = history.after(room, 0, 1000)[0]
        assert [m.seq for m in messages] == list(range(1, 41))  # in id order, too


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_room_keeps_its_last_history_max_messages(kind, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'h.db'}" if kind == "sqlite" else request.getfixturevalue("redis_server").url
    )
    store = store_for(url, history_max_messages=3)
    try:
        for i in range(7):
            store.add("lobby", "ann", f"m{i}", f"c{i}")
        store.add("other", "bob", "kept", "o1")
        assert [(m.text, m.seq) for m in store.after("lobby", 0, 100)[0]] == [("m4", 5), ("m5", 6), ("m6", 7)]
        # A pruned message's client_id is forgotten with it: sent again, it is a new message.
        assert store.add("lobby", "ann", "m0", "c0")[1] is True
        assert store.add("lobby", "ann", "m6", "c6")[1] is False
        assert [m.text for m in store.latest("other", 10)] == ["kept"]
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_pruning_by_age_deletes_the_oldest_in_batches_and_keeps_seq_going(kind, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'h.db'}" if kind == "sqlite" else request.getfixturevalue("redis_server").url
    )
    store = store_for(url)
    try:
        for i in range(5):
            store.add("lobby", "ann", f"old{i}", f"c{i}")
        store.add("hall", "bob", "old", "h1")
        cutoff = store.latest("hall", 1)[0].ts + 1  # the newest message is older than this
        from chat.stores.retention import prune_once

        assert store.prune_older_than(cutoff, 2) >= 2
        time.sleep(0.01)
        assert prune_once(store, 0, cutoff / 1000, lambda s: None) >= 0
        assert store.latest("lobby", 10) == [] and store.latest("hall", 10) == []
        fresh, _ = store.add("lobby", "ann", "new", "c9")
        assert fresh.seq == 6  # the room's numbering survives its history emptying
    finally:
        store.close()


def test_an_old_sqlite_file_gets_seq_numbers_once(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, name TEXT NOT NULL,"
        " text TEXT NOT NULL, ts INTEGER NOT NULL, client_id TEXT NOT NULL, UNIQUE (room, client_id));"
        "INSERT INTO messages (room, name, text, ts, client_id) VALUES"
        " ('a', 'x', '1', 1, 'c1'), ('b', 'x', '1', 1, 'c2'), ('a', 'x', '2', 1, 'c3');"
    )
    db.commit()
    db.close()
    store = store_for(f"sqlite:///{path}")
    try:
        assert [m.seq for m in store.latest("a", 10)] == [1, 2]
        assert store.add("a", "x", "3", "c4")[0].seq == 3
        assert store.add("b", "x", "2", "c5")[0].seq == 2
    finally:
        store.close()


def test_a_full_disk_is_unavailable_counted_and_logged_once(tmp_path, caplog):
    from chat.stores import StoreUnavailable
    from ops.metrics import STORE_FAILURES

    store = store_for(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        store.add("lobby", "ann", "fits", "c0")
        sqlite_store = store.store._store
        store.store.thread.run("test", lambda: sqlite_store.db.execute("PRAGMA max_page_count = 1"))
        before = STORE_FAILURES.labels("add")._value.get()
        with caplog.at_level("WARNING", logger="rolegate.chat.store"):
            for i in range(5):
                with pytest.raises(StoreUnavailable, match="full"):
                    store.add("lobby", "ann", "x" * 10_000, f"c{i + 1}")
        assert STORE_FAILURES.labels("add")._value.get() == before + 5
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "database or disk is full" in lines[0], lines
        store.store.thread.run("test", lambda: sqlite_store.db.execute("PRAGMA max_page_count = 1000000"))
        assert store.add("lobby", "ann", "after", "c9")[0].seq == 2
    finally:
        store.close()


def test_a_locked_database_answers_within_the_timeout_and_does_not_queue_calls_behind_it(tmp_path):
    from chat.stores import StoreUnavailable

    store = store_for(f"sqlite:///{tmp_path / 'h.db'}", store_timeout=0.5)
    store.add("lobby", "ann", "first", "c0")
    locker = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        outcomes = []

        def send(i: int) -> None:
            try:
                store.add("lobby", "ann", f"m{i}", f"c{i + 1}")
                outcomes.append("stored")
            except StoreUnavailable:
                outcomes.append("unavailable")

        threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes == ["unavailable"] * 10
        assert time.monotonic() - started < 15  # generous: each call is bounded, none waits for all
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    # Once the lock is gone the store answers again (a call still running may need a moment to notice).
    deadline = time.monotonic() + 10
    while True:
        try:
            store.add("lobby", "ann", "after", "c99")
            break
        except StoreUnavailable:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    messages = store.after("lobby", 0, 100)[0]
    assert messages[-1].text == "after" and [m.seq for m in messages] == list(range(1, len(messages) + 1))
    store.close()


def test_a_message_keeps_its_senders_sub_and_the_wire_shows_it_only_when_set(history):
    signed, _ = history.add("lobby", "Ann", "signed", "c1", "user-1")
    unsigned, _ = history.add("lobby", "Ann", "typed", "c2")
    assert (signed.sub, unsigned.sub) == ("user-1", "")
    assert [m.sub for m in history.latest("lobby", 10)] == ["user-1", ""]
    assert [m.sub for m in history.after("lobby", 0, 10)[0]] == ["user-1", ""]
    assert signed.to_wire()["sub"] == "user-1"
    assert set(unsigned.to_wire()) == {"id", "room", "name", "text", "ts", "client_id", "seq"}
    # A resend returns the stored message, its first sender's sub included, whoever sends it again.
    again, new = history.add("lobby", "Ann", "signed", "c1", "user-2")
    assert (again, new) == (signed, False)


def test_redis_entries_stored_before_sub_read_back_with_sub_empty(redis_server):
    import json

    import redis

    from chat.stores.redis_history import PREFIX

    client = redis.Redis.from_url(redis_server.url)
    old = {"id": 10**9, "room": "legacy", "name": "x", "text": "old", "ts": 1, "client_id": "c0", "seq": 1}
    client.zadd(f"{PREFIX}:room:legacy:messages", {json.dumps(old): old["id"]})
    client.close()
    store = store_for(redis_server.url)
    try:
        [message] = store.latest("legacy", 10)
        assert (message.text, message.sub) == ("old", "")
        assert "sub" not in message.to_wire()
    finally:
        store.close()


def test_an_old_sqlite_file_gets_the_sub_column_once(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, name TEXT NOT NULL,"
        " text TEXT NOT NULL, ts INTEGER NOT NULL, client_id TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (room, client_id));"
        "CREATE TABLE room_seqs (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO messages (room, name, text, ts, client_id, seq) VALUES ('a', 'x', 'old', 1, 'c1', 1);"
        "INSERT INTO room_seqs (room, last_seq) VALUES ('a', 1);"
    )
    db.commit()
    db.close()
    for _ in range(2):  # opened again: the column is there, nothing migrates twice
        store = store_for(f"sqlite:///{path}")
        try:
            assert [(m.text, m.seq, m.sub) for m in store.latest("a", 10)][0] == ("old", 1, "")
        finally:
            store.close()
    store = store_for(f"sqlite:///{path}")
    try:
        new, _ = store.add("a", "x", "new", "c2", "user-1")
        assert (new.seq, new.sub) == (2, "user-1")
        assert [(m.text, m.sub) for m in store.latest("a", 10)] == [("old", ""), ("new", "user-1")]
        # A resend of the old message is the stored one, with no sub.
        assert store.add("a", "x", "old", "c1", "user-1") == (store.latest("a", 10)[0], False)
    finally:
        store.close()
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(messages)")]
    assert columns.count("sub") == 1
