"""The history store contract, the same for SQLite (embedded default) and Redis (shared)."""

from __future__ import annotations

import subprocess
import threading
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
