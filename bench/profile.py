"""Where a server's time goes under one load scenario: py-spy, grouped by component.

    python -m bench.profile --target gateway --transport websocket --clients 50
    python -m bench.profile --target baseline --transport polling --clients 50

Starts the server, drives the scenario with the Node load generator and samples the
worker with ``py-spy record`` meanwhile. Prints the share of samples per component
(by the innermost frame that belongs to a known component) and keeps the collapsed
stacks in bench/logs/ for a flame graph. Env vars given with --env go to the server.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from bench import scenarios
from bench.__main__ import LOGS, baseline, gateway
from bench.servers import VENV_BIN, raise_open_files_limit, worker_pid

#: Component -> path fragments, checked innermost frame first; the first match wins.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("JSON encode/decode", ("json/", "orjson", "fastjson")),
    ("logging", ("logging/",)),
    ("permessage-deflate (zlib)", ("wsproto/extensions",)),
    (
        "WebSocket framing (wsproto, simple-websocket, gevent-websocket, inline driver)",
        ("wsproto", "simple_websocket", "geventwebsocket", "seam/inline_ws.py", "rfc6455/"),
    ),
    ("gateway worker handler (serving/worker.py)", ("serving/worker.py",)),
    ("gateway gate, guard and handlers", ("transports/", "chat/", "app.py")),
    ("Socket.IO/Engine.IO packets and handlers", ("socketio/", "engineio/")),
    ("HTTP server (pywsgi parsing, access log)", ("gevent/pywsgi", "gunicorn/")),
    ("greenlet switches, queues, events, sockets", ("gevent/",)),
]


def component(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, fragments in COMPONENTS:
            if any(fragment in frame for fragment in fragments):
                return name
    return "other (interpreter, stdlib)"


def summarize(collapsed: Path) -> list[tuple[str, float]]:
    counts: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            counts[component(stack)] += int(count)
    total = sum(counts.values()) or 1
    return [(name, round(100 * n / total, 1)) for name, n in counts.most_common()]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--target", choices=["gateway", "baseline"], default="gateway")
    parser.add_argument("--transport", choices=["websocket", "polling"], default="websocket")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args()
    raise_open_files_limit()
    server = gateway() if args.target == "gateway" else baseline()
    server.env.update(item.split("=", 1) for item in args.env)
    server.start()
    out = LOGS / f"pyspy-{args.target}-{args.transport}-{args.clients}.txt"
    try:
        pid = worker_pid(server.process.pid)
        load = threading.Thread(
            target=scenarios.roundtrip, args=(server.url, args.transport, args.clients, args.seconds + 3)
        )
        load.start()
        subprocess.run(
            [
                str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "250", "--nonblocking",
                "--duration", str(int(args.seconds)), "--format", "raw", "--output", str(out),
            ],
            check=True,
            capture_output=True,
            timeout=args.seconds + 60,
        )  # fmt: skip
        load.join(args.seconds + 60)
    finally:
        server.stop()
    print(f"{args.target} {args.transport} {args.clients} clients, py-spy samples by component ({out}):")
    for name, share in summarize(Path(out)):
        print(f"  {share:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
