"""Where an idle connection's memory goes: tracemalloc around N idle clients.

    python -m bench.memory --websockets 1000
    python -m bench.memory --polling 1000
    GATEWAY_WEBSOCKET_COMPRESSION=true python -m bench.memory --websockets 1000

Serves the gateway in this process (the gunicorn worker's pywsgi server and handler,
serving/worker.py) with tracemalloc on, connects
idle clients with the Node load generator, and prints per connection: RSS growth,
Python-heap growth by allocation site, and the greenlets and objects left behind.
RSS minus the Python heap is what C code keeps (zlib contexts, greenlet stacks, malloc slack).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tracemalloc  # noqa: E402
from collections import Counter  # noqa: E402

import gevent  # noqa: E402
from greenlet import greenlet  # noqa: E402

from bench import scenarios  # noqa: E402
from bench.servers import free_port, raise_open_files_limit, rss_kib  # noqa: E402


def object_counts() -> Counter[str]:
    return Counter(type(o).__name__ for o in gc.get_objects())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--websockets", type=int, default=0)
    parser.add_argument("--polling", type=int, default=0)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    count = args.websockets + args.polling
    if not count:
        parser.error("give --websockets N or --polling N")
    raise_open_files_limit()
    port = free_port()
    os.environ.update(HOST="127.0.0.1", PORT=str(port))
    os.environ.setdefault("GATEWAY_PROFILE", "worker-role")
    os.environ.setdefault("GATEWAY_LOG_LEVEL", "warning")
    # Every client comes from 127.0.0.1: the per-address caps (500) would refuse half of 1,000
    # and the figures per connection would be halved. Raised as the bench raises them.
    for name in (
        "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS",
        "GATEWAY_MAX_SESSIONS_PER_ADDRESS",
        "GATEWAY_MAX_SESSIONS",
    ):
        os.environ.setdefault(name, "1000000")

    from gevent.pool import Pool

    from app import create_app
    from config import load_profile_or_exit
    from serving.worker import QuietHandler, Server

    profile = load_profile_or_exit()
    server = Server(
        ("127.0.0.1", port), create_app(profile), spawn=Pool(20_000), handler_class=QuietHandler, log=None
    )
    gevent.spawn(server.serve_forever)
    gevent.sleep(0.5)
    tracemalloc.start(8)
    marks: dict[str, tuple] = {}

    def on_phase(message: dict) -> None:
        gc.collect()
        marks[message["phase"]] = (rss_kib(os.getpid()), tracemalloc.take_snapshot(), object_counts())
        return 0

    scenarios.idle(f"http://127.0.0.1:{port}", args.websockets, args.polling, 1, on_phase_reader(on_phase))
    after = "websockets_connected" if args.websockets else "polling_connected"
    rss0, snap0, objects0 = marks["ready"]
    rss1, snap1, objects1 = marks[after]
    stats = snap1.compare_to(snap0, "traceback")
    python_heap = sum(s.size_diff for s in stats) / 1024 / count
    print(f"{count} idle {'WebSockets' if args.websockets else 'polling clients'}, per connection:")
    print(f"  RSS growth {(rss1 - rss0) / count:.1f} KiB (tracemalloc's own bookkeeping included)")
    print(f"  Python heap growth {python_heap:.1f} KiB")
    grown = {k: (objects1[k] - objects0.get(k, 0)) / count for k in objects1}
    print(
        "  objects per connection: "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(grown.items(), key=lambda kv: -kv[1])[:12])
    )
    greenlets = sum(1 for o in gc.get_objects() if isinstance(o, greenlet))
    print(f"  greenlets alive now: {greenlets}")
    print("  top allocation sites (KiB per connection):")
    for stat in stats[: args.top]:
        frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback][-3:]
        print(f"    {stat.size_diff / 1024 / count:6.2f}  {' <- '.join(reversed(frames))}")
    return 0


def on_phase_reader(on_phase):  # noqa: ANN001, ANN201
    """scenarios.idle calls its reader once per phase; route the call to on_phase."""
    phases = iter(["ready", "websockets_connected", "polling_connected", "held"])

    def read() -> int:
        on_phase({"phase": next(phases)})
        return 0

    return read


if __name__ == "__main__":
    sys.exit(main())
