"""What one parked green thread costs in memory, before it holds anything of its own.

    python -m bench.greenlet_floor

Under WSGI a long-poll is a request whose handler waits for a message: one gevent green thread per
parked long-poll, and pywsgi serves each connection (a polling client's other one, idle between its
posts, too) on a green thread of its own. CPython 3.11 gives each green thread its own block for
Python frames, and RSS counts the 4 KiB pages it touched; greenlet keeps the C stack under the parked
frame on the heap. This prints the RSS per green thread parked on an Event after its calls went N
frames deep: the floor under every idle polling client, whatever the gateway keeps for it
(bench/RESULTS.md, "Toward Node").
"""

from __future__ import annotations

import gc
import subprocess
import sys

import gevent
from gevent.event import Event

PARKED = 2000
DEPTHS = (1, 30, 60)


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4


def deep(frames: int) -> int:
    return deep(frames - 1) if frames > 1 else 0


def parked_kib(frames: int) -> float:
    """RSS growth per green thread, ``PARKED`` of them parked after going ``frames`` deep."""
    release = Event()

    def park() -> None:
        deep(frames)  # the frames' pages stay touched once the calls return
        release.wait()

    gevent.spawn(park)  # the hub and its loop, started before the measure
    gevent.sleep(0.05)
    gc.collect()
    before = rss_kib()
    parked = [gevent.spawn(park) for _ in range(PARKED)]
    gevent.sleep(0.05)
    grown = rss_kib() - before
    release.set()
    gevent.joinall(parked)
    return grown / PARKED


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(f"{parked_kib(int(sys.argv[2])):.1f}")
        return 0
    # A fresh process for each depth: memory the last batch freed would be reused, and not counted.
    print(f"RSS per green thread, {PARKED} parked on an Event (gevent {gevent.__version__}):")
    for frames in DEPTHS:
        child = [sys.executable, "-m", "bench.greenlet_floor", "--child", str(frames)]
        kib = subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip()
        print(f"  {frames:3} frames deep before parking: {kib:>5} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
