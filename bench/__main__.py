"""``python -m bench``: the gateway against the plain stack and Node, taking turns, medians and ratios.

    python -m bench                 # everything (make bench)
    python -m bench --quick         # a few seconds per scenario, small counts
    python -m bench --url URL       # one target only (any Socket.IO server with the demo events)
    python -m bench --only storm    # one family: roundtrip, fanout, storm, idle, capacity, flood
    python -m bench --load-processes 2   # split each scenario's clients over 2 Node load processes

The gateway runs from the Procfile's web: line with GATEWAY_PROFILE=worker-role; the baseline
is bench/baseline.py on the same gunicorn gevent worker; node is bench/node_server.js (socket.io 4.8).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench import scenarios
from bench.plan import Plan, Step, plan_for
from bench.report import print_table, summarize
from bench.servers import (
    BASELINE_COMMAND,
    GATEWAY_COMMAND,
    NODE_COMMAND,
    Server,
    cpu_seconds,
    raise_open_files_limit,
    rss_kib,
    worker_pid,
)

LOGS = Path(__file__).with_name("logs")


#: Extra GATEWAY_* settings for every gateway the bench starts (--gateway-env), to try a setting.
GATEWAY_ENV: dict[str, str] = {}


#: The gateway as deployed (worker-role, every chat feature on), with three changes for a load test:
#: history in a scratch database; a per-connection message rate the fan-out never reaches (the
#: limiter still runs for every message; only its refusal would be measured otherwise); and caps
#: every client can pass. All the bench's clients come from 127.0.0.1, so the per-address caps
#: (500 by default) would refuse the 10,000 idle clients and the 5,000-client storm, and max_sessions
#: (10,000) the capacity step. They are raised, not set to 0 (off), so the cap code still runs on
#: every connection and session, as deployed. Nothing else limits handshakes: the gateway has no
#: handshake rate (config/settings.py), and a storm's rejoin is one join per new connection, under
#: join_burst. Any refusal that remains shows up as an error, never hidden.
BENCH_GATEWAY_ENV = {
    "GATEWAY_PROFILE": "worker-role",
    "GATEWAY_DATABASE_URL": f"sqlite:///{LOGS / 'gateway-history.db'}",
    "GATEWAY_MESSAGES_PER_SECOND": "1000",
    "GATEWAY_MESSAGE_BURST": "1000",
    "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
    "GATEWAY_MAX_SESSIONS_PER_ADDRESS": "1000000",
    "GATEWAY_MAX_SESSIONS": "1000000",
}


def gateway() -> Server:
    for leftover in LOGS.glob("gateway-history.db*"):
        leftover.unlink()
    return Server("gateway", GATEWAY_COMMAND, {**BENCH_GATEWAY_ENV, **GATEWAY_ENV}, log_dir=LOGS)


def baseline() -> Server:
    return Server("baseline", BASELINE_COMMAND, log_dir=LOGS)


def node() -> Server:
    return Server("node", NODE_COMMAND, log_dir=LOGS)


#: The servers compared, in the order of the first round (later rounds rotate it).
SERVERS = {"gateway": gateway, "baseline": baseline, "node": node}


def run_step(
    step: Step,
    url: str,
    read_rss: scenarios.RssReader,
    read_cpu: scenarios.CpuReader = None,
    processes: int = 1,
) -> dict:
    """One scenario against ``url``; the server's CPU % over the step when ``read_cpu`` is given.

    The storm reads the CPU itself, over the storm window only; other load steps over the whole
    step (connect, warm-up, drain), so near 100 means the server was the limit.
    """
    if step.kind == "storm":
        return scenarios.storm(url, step.clients, step.rooms, read_cpu, processes)
    if step.kind in ("idle", "capacity"):
        return scenarios.idle(url, step.clients, step.polling, step.duration_s, read_rss, processes)
    cpu, started = (read_cpu() if read_cpu else 0.0), time.monotonic()
    if step.kind == "roundtrip":
        result = scenarios.roundtrip(url, step.transport, step.clients, step.duration_s, processes)
    else:
        result = scenarios.fanout(url, step.transport, step.clients, step.duration_s, processes)
    if read_cpu:
        result["serverCpuPct"] = round(100 * (read_cpu() - cpu) / (time.monotonic() - started), 1)
    return result


def rotated(names: list[str], round_index: int) -> list[str]:
    """Round-robin: each server goes first once every len(names) rounds."""
    shift = round_index % len(names)
    return names[shift:] + names[:shift]


def log_line(target: str, step: Step, result: dict) -> None:
    shown = {k: v for k, v in result.items() if k != "errorSamples" or v}
    print(f"  {target:<8} {step.label:<34} {json.dumps(shown)}", flush=True)


def compare(plan: Plan) -> list[dict]:
    """Every server in turn on each step, the order rotated each round; fresh servers for memory."""
    records: list[dict] = []
    names = list(SERVERS)
    servers = {name: make() for name, make in SERVERS.items()}
    try:
        for server in servers.values():
            server.start()
        for round_index in range(plan.rounds):
            order = rotated(names, round_index)
            print(f"round {round_index + 1}/{plan.rounds} ({' then '.join(order)})", flush=True)
            for step in plan.load_steps:
                for name in order:
                    server = servers[name]
                    result = run_step(step, server.url, None, server.worker_cpu_seconds, plan.load_processes)
                    log_line(name, step, result)
                    records.append({"target": name, "step": step.label, "result": result})
    finally:
        for server in servers.values():
            server.stop()
    # Memory is read as RSS growth, so each idle run gets a server that has served nothing else.
    for round_index in range(plan.idle_rounds):
        for step in plan.idle_steps:
            for name in rotated(names, round_index):
                if name != "gateway" and not step.compare:
                    continue
                server = SERVERS[name]().start()
                try:
                    result = run_step(step, server.url, server.worker_rss_kib, None, plan.load_processes)
                finally:
                    server.stop()
                log_line(name, step, result)
                records.append({"target": name, "step": step.label, "result": result})
    return records


#: The inbound budget out of the way, so a flood runs on and only taking turns protects the others.
NO_BUDGET_ENV = {
    "GATEWAY_INBOUND_PACKETS_PER_SECOND": "1e9",
    "GATEWAY_INBOUND_PACKET_BURST": "1000000000",
    "GATEWAY_INBOUND_BYTES_PER_SECOND": "1e12",
    "GATEWAY_INBOUND_BYTE_BURST": "1000000000000",
    "GATEWAY_MAX_MESSAGE_BYTES": "100000000",
}


def floods(plan: Plan) -> list[dict]:
    """Other clients' round trips while one connection floods: the budget as shipped, and off."""
    records = []
    for step in plan.flood_steps:
        profile, transport = scenarios.FLOOD_SCENARIOS[step.transport]
        for budget, extra in (("default", {}), ("off", NO_BUDGET_ENV)):
            if step.transport == "none" and budget == "off":
                continue
            server = gateway()
            server.env = {**server.env, "GATEWAY_PROFILE": profile, **extra}
            server.start()
            try:
                result = scenarios.flood(server.url, step.transport, transport, step.clients, step.duration_s)
                result["sameWorker"] = "WORKER TIMEOUT" not in server.log_path.read_text(errors="replace")
            finally:
                server.stop()
            label = f"{step.label}, budget {budget}"
            print(f"  gateway  {label:<58} {json.dumps(result)}", flush=True)
            records.append({"target": "gateway", "step": label, "result": result})
    return records


def single(plan: Plan, url: str, pid: int | None) -> list[dict]:
    """Every scenario against one URL; RSS and server CPU only when the server's pid is given."""
    read_rss = (lambda: rss_kib(worker_pid(pid))) if pid else None
    read_cpu = (lambda: cpu_seconds(worker_pid(pid))) if pid else None
    records = []
    for step in [*plan.load_steps, *plan.idle_steps]:
        result = run_step(step, url, read_rss, read_cpu, plan.load_processes)
        log_line("target", step, result)
        records.append({"target": "target", "step": step.label, "result": result})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, short runs (a smoke test)")
    parser.add_argument("--url", help="benchmark this URL only, instead of the three servers")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid (or its parent's), for RSS")
    parser.add_argument(
        "--only", choices=["roundtrip", "fanout", "storm", "idle", "capacity", "flood"], action="append"
    )
    parser.add_argument(
        "--load-processes", type=int, help="Node load processes sharing each scenario's clients"
    )
    parser.add_argument("--rounds", type=int, help="how many times each comparison runs (default 3)")
    parser.add_argument("--gateway-env", action="append", default=[], help="NAME=VALUE for the gateway")
    parser.add_argument(
        "--json", type=Path, default=LOGS / "last-run.json", help="where every figure is written as JSON"
    )
    args = parser.parse_args(argv)

    GATEWAY_ENV.update(item.split("=", 1) for item in args.gateway_env)
    limit = raise_open_files_limit()
    plan = plan_for(quick=args.quick, only=args.only, rounds=args.rounds, load_processes=args.load_processes)
    started = time.monotonic()
    print(f"open files limit {limit}; {plan.describe()}", flush=True)
    records = single(plan, args.url, args.pid) if args.url else compare(plan) + floods(plan)
    summary = summarize(records)
    print_table(summary, compared=not args.url)
    print(f"took {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"records": records, "summary": summary}, indent=1))
    errors = sum(sum(row["errors"].values()) for row in summary)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
