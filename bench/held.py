"""``python -m bench.held``: memory one client can make the worker hold, per half-open connection and session.

Starts the gateway from the Procfile's command (gunicorn, gevent worker), then:
- opens N connections that send half a request line and stop (slowloris), and reads the worker's
  RSS growth per connection before ``header_timeout`` closes them, and after (what stays);
- opens N Engine.IO polling sessions (the handshake only, never polled again), and reads the RSS
  growth per session.
Medians of a few rounds; RSS moves with the allocator, so read it as an order of magnitude.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
import urllib.request

from bench.servers import GATEWAY_COMMAND, Server, raise_open_files_limit

ENV = {
    "GATEWAY_LOG_LEVEL": "warning",
    "GATEWAY_HEADER_TIMEOUT": "8",
    # One address opens them all here: the per-address caps would stop the measurement, not the bytes.
    "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS": "0",
    "GATEWAY_MAX_SESSIONS_PER_ADDRESS": "0",
    "GATEWAY_MAX_SESSIONS": "0",
}


def half_open(url_port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", url_port))
        s.sendall(b"GET /socket.io/?EIO=4&transport=pol")
        sockets.append(s)
    return sockets


def sessions(url: str, count: int) -> None:
    for _ in range(count):
        with urllib.request.urlopen(f"{url}/socket.io/?EIO=4&transport=polling", timeout=10) as response:
            response.read()


def settle(server: Server, seconds: float = 1.5) -> int:
    time.sleep(seconds)
    return server.worker_rss_kib()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.held", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    raise_open_files_limit()
    per_connection, after_timeout, per_session = [], [], []
    for _ in range(args.rounds):
        server = Server("held", GATEWAY_COMMAND, dict(ENV)).start()
        try:
            before = settle(server)
            held = half_open(server.port, args.count)
            during = settle(server)
            per_connection.append((during - before) / args.count)
            time.sleep(float(ENV["GATEWAY_HEADER_TIMEOUT"]) + 2)
            after_timeout.append((settle(server) - before) / args.count)
            for s in held:
                s.close()
            base = settle(server)
            sessions(server.url, args.count)
            per_session.append((settle(server) - base) / args.count)
        finally:
            server.stop()
    print(f"{args.count} each, {args.rounds} rounds (medians, KiB of worker RSS)")
    print(f"half-open connection, held:            {statistics.median(per_connection):6.1f} KiB")
    print(f"half-open connection, after the timeout:{statistics.median(after_timeout):6.1f} KiB")
    print(f"idle polling session (handshake only): {statistics.median(per_session):6.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
