"""``python -m bench.ab``: two gateway settings and the baseline, alternating in one window.

    python -m bench.ab GATEWAY_WEBSOCKET_DRIVER=simple-websocket GATEWAY_WEBSOCKET_DRIVER=inline
    python -m bench.ab TREE=/path/to/a/checkout/of/main TREE=.       # two commits, same settings

On this noisy shared machine two separate ``python -m bench`` runs are minutes apart and the CPU
a worker gets moves by 2x between them; here the three servers run side by side and take turns
(the order rotates every round), so each round's figures were measured under the same load.
The figure that does not depend on how much CPU the worker got is server CPU per round trip.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench import scenarios
from bench.__main__ import BENCH_GATEWAY_ENV, LOGS, baseline
from bench.servers import GATEWAY_COMMAND, Server, raise_open_files_limit


def variant(setting: str) -> Server:
    """A gateway with one setting changed, or (``TREE=DIR``) the gateway of another checkout."""
    name, _, value = setting.partition("=")
    tag = Path(value).resolve().name if name == "TREE" else value
    env = dict(BENCH_GATEWAY_ENV) if name == "TREE" else {**BENCH_GATEWAY_ENV, name: value}
    env["GATEWAY_DATABASE_URL"] = f"sqlite:///{LOGS / ('ab-' + tag + '.db')}"
    if name == "TREE":
        return Server(f"TREE={tag}", GATEWAY_COMMAND, env, log_dir=LOGS, cwd=Path(value).resolve())
    return Server(setting, GATEWAY_COMMAND, env, log_dir=LOGS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs=2, help="NAME=VALUE for gateway A and gateway B")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--transport", choices=["websocket", "polling"], default="websocket")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4)
    args = parser.parse_args(argv)
    raise_open_files_limit()
    LOGS.mkdir(exist_ok=True)
    servers = {setting: variant(setting) for setting in args.settings}
    servers["baseline"] = baseline()
    figures: dict[str, list[tuple[int, float]]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.start()
        names = list(servers)
        for round_index in range(args.rounds):
            order = names[round_index % 3 :] + names[: round_index % 3]
            for name in order:
                server = servers[name]
                cpu, started = server.worker_cpu_seconds(), time.monotonic()
                result = scenarios.roundtrip(server.url, args.transport, args.clients, args.seconds)
                used = server.worker_cpu_seconds() - cpu
                rate = result["roundTripsPerS"]
                cpu_us = 1e6 * used / max(1, rate * args.seconds)
                figures[name].append((rate, cpu_us))
                print(
                    f"round {round_index + 1} {name:<44} {rate:>6} rt/s  {cpu_us:6.1f} us CPU/rt  "
                    f"worker {100 * used / (time.monotonic() - started):3.0f}%  errors {result['errors']}",
                    flush=True,
                )
    finally:
        for server in servers.values():
            server.stop()
    base = figures["baseline"]
    print(
        f"\n{args.transport}, {args.clients} clients, {args.rounds} rounds "
        "(medians; ratio = median of paired)"
    )
    for name, rows in figures.items():
        rates = [r for r, _ in rows]
        cpus = [c for _, c in rows]
        rate_ratio = statistics.median(r / b[0] for (r, _), b in zip(rows, base, strict=True))
        cpu_ratio = statistics.median(c / b[1] for (_, c), b in zip(rows, base, strict=True))
        print(
            f"{name:<44} {statistics.median(rates):>7,.0f} rt/s (x{rate_ratio:.2f} baseline)  "
            f"{statistics.median(cpus):6.1f} us CPU/rt (x{cpu_ratio:.2f} baseline, "
            f"speed-up {1 / cpu_ratio:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
