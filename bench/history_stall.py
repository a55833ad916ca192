"""How long do SQLite history writes freeze the other connections of a gevent worker?

A ticker green thread asks to wake every millisecond and records how late it
wakes (what every other connection of the worker feels), while writer green
threads store chat messages: once with the store called directly on the
event loop, once through the one-thread offload the gateway uses.

    python -m bench.history_stall [--writes 3000] [--writers 20]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402

from chat.stores.history import History  # noqa: E402
from chat.stores.offload import OffloadedHistory  # noqa: E402
from chat.stores.sqlite import SqliteHistory  # noqa: E402

TICK = 0.001


def run(history: History, writes: int, writers: int) -> dict[str, float]:
    lags: list[float] = []
    done = gevent.event.Event()

    def ticker() -> None:
        while not done.is_set():
            started = time.perf_counter()
            gevent.sleep(TICK)
            lags.append((time.perf_counter() - started - TICK) * 1000)

    def writer(count: int) -> None:
        for i in range(count):
            history.add("bench", "writer", f"message {i}", uuid.uuid4().hex)

    tick = gevent.spawn(ticker)
    started = time.perf_counter()
    gevent.joinall([gevent.spawn(writer, writes // writers) for _ in range(writers)])
    elapsed = time.perf_counter() - started
    done.set()
    tick.join()
    lags.sort()
    return {
        "writes/s": writes / elapsed,
        "lag p50 ms": statistics.median(lags),
        "lag p99 ms": lags[int(len(lags) * 0.99)],
        "lag max ms": lags[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"on the event loop": [], "offloaded (gateway)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):  # alternate, so both see the same noise
            direct = SqliteHistory(Path(tmp) / f"direct-{round_}.db")
            results["on the event loop"].append(run(direct, args.writes, args.writers))
            offloaded = OffloadedHistory(lambda r=round_: SqliteHistory(Path(tmp) / f"off-{r}.db"), "gevent")
            results["offloaded (gateway)"].append(run(offloaded, args.writes, args.writers))
    print(f"{args.writes} message writes by {args.writers} green threads, median of {args.rounds} rounds")
    keys = list(next(iter(results.values()))[0])
    print(f"{'store calls':<22}" + "".join(f"{k:>14}" for k in keys))
    for label, rounds in results.items():
        medians = [statistics.median(r[k] for r in rounds) for k in keys]
        print(f"{label:<22}" + "".join(f"{v:>14.2f}" for v in medians))


if __name__ == "__main__":
    main()
