"""chat/departures.py: each ended connection departs once, in order, after the grace."""

from __future__ import annotations

import threading
import time

from chat.departures import Departures


class ThreadedServer:
    """What Departures asks of the Socket.IO server: a background task and a sleep."""

    def start_background_task(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        return thread

    sleep = staticmethod(time.sleep)


def test_each_departs_in_order_once_its_grace_is_over():
    departed: list[tuple[str, float]] = []
    departures = Departures(0.2, ThreadedServer(), lambda sid: departed.append((sid, time.monotonic())))
    started = time.monotonic()
    departures.add("a")
    departures.add("b")
    time.sleep(0.1)
    assert departed == [] and len(departures) == 2 and departures.pending == {"a", "b"}
    departures.add("c")
    time.sleep(0.5)
    assert [sid for sid, _ in departed] == ["a", "b", "c"]
    assert all(when - started >= 0.2 for _, when in departed)
    assert departed[2][1] - started >= 0.3  # c ended 0.1 s later, so it departs later
    assert len(departures) == 0 and departures.pending == set()
    departures.add("d")  # the runner stopped when it had nothing left; a new one starts
    time.sleep(0.4)
    assert [sid for sid, _ in departed] == ["a", "b", "c", "d"]


def test_no_grace_departs_at_once():
    departed: list[str] = []
    Departures(0, ThreadedServer(), departed.append).add("a")
    assert departed == ["a"]


def test_one_failing_departure_does_not_strand_the_others():
    departed: list[str] = []

    def depart(sid: str) -> None:
        if sid == "bad":
            raise RuntimeError("the store is down")
        departed.append(sid)

    departures = Departures(0.05, ThreadedServer(), depart)
    for sid in ("a", "bad", "b"):
        departures.add(sid)
    time.sleep(0.3)
    assert departed == ["a", "b"]
