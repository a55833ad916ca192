"""The pure parts of store failure handling and retention: rate-limited logging, bounds, intervals."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from chat.stores.guard import FailureLog, GuardedHistory, describe_error
from chat.stores.history import StoreUnavailable
from chat.stores.offload import StoreThread
from chat.stores.retention import BATCH, prune_interval, prune_once


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failure_log_says_each_kind_once_a_minute_with_how_many_it_held_back():
    lines: list[str] = []
    clock = Clock()
    failures = FailureLog(lines.append, every=60, clock=clock)
    assert failures.failed("add", "disk full") is True
    for _ in range(9):
        clock.now += 1
        assert failures.failed("add", "disk full") is False
    assert failures.failed("after", "disk full") is True  # another kind is said at once
    clock.now += 60
    assert failures.failed("add", "disk full") is True
    assert lines == [
        "history store unavailable: add failed: disk full",
        "history store unavailable: after failed: disk full",
        "history store unavailable: add failed: disk full (and 9 more like it in the last 69 s)",
    ]


def test_describe_error_is_one_line_without_a_traceback():
    assert describe_error(sqlite3.OperationalError("database or disk is full\nmore")) == (
        "OperationalError: database or disk is full"
    )
    assert describe_error(TimeoutError()) == "TimeoutError"


class Broken:
    def add(self, *args: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    def latest(self, *args: object) -> None:
        raise KeyError("our bug")


def test_guard_turns_store_errors_into_unavailable_and_lets_bugs_through():
    lines: list[str] = []
    guarded = GuardedHistory(Broken(), (sqlite3.Error,), failures=FailureLog(lines.append))
    with pytest.raises(StoreUnavailable) as failure:
        guarded.add("r", "n", "t", "c")
    assert failure.value.operation == "add" and "readonly" in failure.value.reason
    with pytest.raises(KeyError):
        guarded.latest("r", 5)
    assert len(lines) == 1


def test_a_call_that_outlives_its_timeout_is_unavailable_and_later_calls_are_not_run_behind_it():
    thread = StoreThread("threading", timeout=0.2)
    release = threading.Event()
    ran: list[int] = []
    with pytest.raises(StoreUnavailable, match="no answer within 0.2 s"):
        thread.run("add", lambda: release.wait(5))
    for i in range(3):  # queued behind the stuck call; their callers give up
        with pytest.raises(StoreUnavailable):
            thread.run("add", lambda i=i: ran.append(i))
    release.set()  # the stuck call ends; until it does, new calls may be refused as stuck
    for _ in range(100):
        try:
            assert thread.run("add", lambda: "answered") == "answered"
            break
        except StoreUnavailable:
            time.sleep(0.05)
    else:
        raise AssertionError("the store thread never answered again")
    assert ran == []  # nobody waited for them any more: skipped, not run late


def test_a_stuck_thread_refuses_new_calls_at_once():
    clock = Clock()
    thread = StoreThread("threading", timeout=1, clock=clock)
    thread._busy_since = clock.now
    clock.now += 2.5  # more than twice the timeout on one call
    with pytest.raises(StoreUnavailable, match="stuck"):
        thread.run("add", lambda: None)


def test_errors_of_the_call_reach_the_caller_without_the_pool_printing_them(capsys):
    thread = StoreThread("threading", timeout=1)
    with pytest.raises(sqlite3.OperationalError):
        thread.run("add", lambda: (_ for _ in ()).throw(sqlite3.OperationalError("disk full")))
    assert capsys.readouterr().err == ""


def test_pruning_runs_in_batches_until_one_comes_back_short():
    asked: list[tuple[int, int]] = []
    counts = iter([BATCH, BATCH, 3])

    class Store:
        def prune_older_than(self, cutoff_ms: int, batch: int) -> int:
            asked.append((cutoff_ms, batch))
            return next(counts)

    sleeps: list[float] = []
    assert prune_once(Store(), max_age=10, now=100.0, sleep=sleeps.append) == 2 * BATCH + 3
    assert asked == [(90_000, BATCH)] * 3 and sleeps == [0, 0]


@pytest.mark.parametrize(("max_age", "interval"), [(1, 1.0), (40, 10.0), (30 * 86400, 60.0)])
def test_prune_interval_is_a_quarter_of_the_age_within_a_second_and_a_minute(max_age, interval):
    assert prune_interval(max_age) == interval


def test_the_gevent_store_thread_answers_a_burst_of_callers_and_hands_errors_back():
    import gevent

    thread = StoreThread("gevent", timeout=5)
    callers = [gevent.spawn(thread.run, "latest", lambda i=i: i) for i in range(500)]
    gevent.joinall(callers, timeout=10)
    assert [caller.value for caller in callers] == list(range(500))
    with pytest.raises(ZeroDivisionError):
        thread.run("add", lambda: 1 / 0)


def test_an_answer_in_time_is_taken_even_when_its_caller_runs_late():
    # A caller held past the timeout by other work (a burst of joins): the store answered at once.
    import gevent

    thread = StoreThread("gevent", timeout=0.2)
    caller = gevent.spawn(thread.run, "latest", lambda: "answer")
    gevent.spawn(time.sleep, 0.5)  # holds the loop without yielding, as CPU work does
    caller.join(5)
    assert caller.value == "answer", caller.exception
