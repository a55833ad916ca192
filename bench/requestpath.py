"""Server CPU per long-polling round trip, measured in one process: for A/B of small steps.

    python -m bench.requestpath                       # this checkout
    python -m bench.requestpath --ab /path/to/other   # alternate runs of two checkouts

The full benchmark's figures move by 10% between rounds on this shared machine (the worker's
share of a core changes how many requests each loop pass serves), which hides a 3% step. Here
the gateway (``create_app`` with the bench settings, gunicorn's pywsgi handler with every layer)
and a minimal raw-socket polling client run in one process and one gevent loop, one round trip
at a time: the figure is the process's CPU time per round trip, client included (the client is
the same bytes for both sides of an A/B, so a difference is the server's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUND_TRIPS = 4000
EVENT = b'42["sendMessage",{"message":"hello"}]'


def serve_and_measure(round_trips: int) -> float:
    """CPU microseconds per polling round trip (this process: server and client)."""
    from gevent import monkey

    monkey.patch_all()
    import json
    import socket

    import gevent
    from gunicorn.workers.ggevent import PyWSGIServer

    from app import create_app
    from bench.__main__ import BENCH_GATEWAY_ENV
    from serving.handler import configured
    from serving.worker import QuietHandler

    settings = {
        k[len("GATEWAY_") :].lower(): v for k, v in BENCH_GATEWAY_ENV.items() if k != "GATEWAY_PROFILE"
    }
    settings["database_url"] = f"sqlite:///{tempfile.mkdtemp()}/requestpath.db"
    settings["profile"] = "worker-role"
    app = create_app(settings)
    profile = app.config["PROFILE"]
    server = PyWSGIServer(("127.0.0.1", 0), app, handler_class=configured(QuietHandler, profile), log=None)
    server.start()
    port = server.address[1]

    def request(sock: socket.socket, method: str, path: str, body: bytes = b"") -> bytes:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\n"
            f"Connection: keep-alive\r\nContent-Type: text/plain;charset=UTF-8\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        length = int(head_bytes.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += sock.recv(65536)
        return rest

    getter = socket.create_connection(("127.0.0.1", port))
    poster = socket.create_connection(("127.0.0.1", port))
    opened = request(getter, "GET", "/socket.io/?EIO=4&transport=polling&t=a")
    sid = json.loads(opened[1:])["sid"]
    base = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    request(poster, "POST", base + "&t=b", b"40")
    request(getter, "GET", base + "&t=c")  # the namespace's connect answer

    def one_round_trip(index: int) -> None:
        poll = gevent.spawn(request, getter, "GET", f"{base}&t=g{index}")
        gevent.sleep(0)  # the long-poll is parked before the event comes
        request(poster, "POST", f"{base}&t=p{index}", EVENT)
        answer = poll.get()
        assert b"helloBack" in answer, answer

    for index in range(200):  # warm up
        one_round_trip(index)
    started = time.process_time()
    for index in range(round_trips):
        one_round_trip(index)
    used = time.process_time() - started
    server.stop(timeout=1)
    return 1e6 * used / round_trips


def run_in(tree: Path, round_trips: int) -> float:
    """One measurement in a fresh process, importing ``tree``'s code."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.requestpath", "--child", str(round_trips)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.requestpath", description=__doc__.splitlines()[0])
    parser.add_argument("--ab", type=Path, help="another checkout, run alternately with this one")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--round-trips", type=int, default=ROUND_TRIPS)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(f"{serve_and_measure(args.child):.2f}")
        return 0
    here = Path.cwd()
    trees = [here] + ([args.ab.resolve()] if args.ab else [])
    figures: dict[Path, list[float]] = {tree: [] for tree in trees}
    for run in range(args.runs):
        for tree in trees if run % 2 == 0 else trees[::-1]:
            figures[tree].append(run_in(tree, args.round_trips))
            print(f"run {run + 1} {tree.name:<20} {figures[tree][-1]:7.2f} us CPU per round trip", flush=True)
    # The least figure too: what another process took from this one only ever adds.
    print("\nmedian and least, CPU per polling round trip (server and client in one process):")
    for tree in trees:
        print(f"  {tree.name:<20} {statistics.median(figures[tree]):7.2f} us  {min(figures[tree]):7.2f} us")
    if args.ab:
        ratios = [a / b for a, b in zip(figures[here], figures[trees[1]], strict=True)]
        least = min(figures[here]) / min(figures[trees[1]])
        paired = statistics.median(ratios)
        print(f"  {here.name} / {trees[1].name}: {paired:.3f} (median of paired runs), {least:.3f} (least)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
