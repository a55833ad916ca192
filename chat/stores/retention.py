"""What a deployment keeps: ``history_max_messages`` per room and ``history_max_age``.

The count is kept by each store's add, in the insert's own transaction (one indexed delete,
usually of one row). The age is kept here, in the background: every ``prune_interval``
seconds, the oldest messages past the age are deleted in batches of ``BATCH``, each batch a
store call of its own (on SQLite's one thread), so messages are stored in between.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from chat.stores.history import History, StoreUnavailable
from ops import metrics

#: Messages one pruning call deletes at most (per room on Redis).
BATCH = 500


def prune_interval(max_age: float) -> float:
    """Seconds between two pruning rounds: a quarter of the age, between 1 s and a minute."""
    return min(60.0, max(1.0, max_age / 4))


def prune_once(history: History, max_age: float, now: float, sleep: Callable[[float], None]) -> int:
    """Delete every message older than ``max_age`` seconds before ``now``, a batch at a time."""
    cutoff_ms = int((now - max_age) * 1000)
    total = 0
    while True:
        deleted = history.prune_older_than(cutoff_ms, BATCH)
        total += deleted
        metrics.count_pruned("age", deleted)
        if deleted < BATCH:
            return total
        sleep(0)  # let waiting messages through between batches


def prune_forever(
    history: History,
    max_age: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float] = time.time,
) -> None:
    """The background task: a pruning round every ``prune_interval(max_age)`` seconds."""
    while True:
        sleep(prune_interval(max_age))
        # A failure is already counted and logged by the store's guard; the next round tries again.
        with contextlib.suppress(StoreUnavailable):
            prune_once(history, max_age, clock(), sleep)
