"""Medians per scenario and target, and the gateway's ratio to each other server (median of paired runs)."""

from __future__ import annotations

from statistics import median


#: (figure name, how to read it from a result) per scenario kind.
def _cpu_us_per(count_per_s: str) -> object:
    """Server CPU per round trip or delivery, in µs: what the shared machine's noise leaves alone.

    Throughput depends on how much of a core the worker got next to everything else running;
    CPU spent per unit of work does not (the step's CPU includes connecting and warm-up).
    """

    def read(r: dict) -> float | None:
        if r.get("serverCpuPct") is None or not r.get(count_per_s):
            return None
        return round(r["serverCpuPct"] * 10_000 / r[count_per_s], 1)

    return read


def _per_cpu_s(count_per_s: str) -> object:
    """Round trips, deliveries or connects per second of server CPU: the headline (higher is better).

    count/s ÷ the server's CPU fraction, the inverse of ``_cpu_us_per``; the storm gives it directly
    (rejoined clients ÷ CPU seconds over its window).
    """

    def read(r: dict) -> float | None:
        if not r.get("serverCpuPct") or not r.get(count_per_s):
            return None
        return round(r[count_per_s] * 100 / r["serverCpuPct"])

    return read


FIGURES = {
    "roundtrip": [
        ("round trips/s", lambda r: r["roundTripsPerS"]),
        ("round trips per server CPU s", _per_cpu_s("roundTripsPerS")),
        ("server CPU us per round trip", _cpu_us_per("roundTripsPerS")),
        ("RTT p50 ms", lambda r: r["rttMs"]["p50"]),
        ("RTT p99 ms", lambda r: r["rttMs"]["p99"]),
        ("server worker CPU %", lambda r: r.get("serverCpuPct")),
        ("load generator CPU %", lambda r: r.get("clientCpuPct")),
    ],
    "fanout": [
        ("deliveries/s", lambda r: r["deliveriesPerS"]),
        ("deliveries per server CPU s", _per_cpu_s("deliveriesPerS")),
        ("server CPU us per delivery", _cpu_us_per("deliveriesPerS")),
        ("latency p50 ms", lambda r: r["latencyMs"]["p50"]),
        ("latency p99 ms", lambda r: r["latencyMs"]["p99"]),
        ("server worker CPU %", lambda r: r.get("serverCpuPct")),
        ("load generator CPU %", lambda r: r.get("clientCpuPct")),
    ],
    "storm": [
        ("seconds until all back", lambda r: r["seconds"]),
        ("connects per server CPU s", lambda r: r.get("connectsPerCpuS")),
        ("connects/s", lambda r: r["connectsPerS"]),
        ("back after p50 ms", lambda r: r["backMs"]["p50"]),
        ("back after p99 ms", lambda r: r["backMs"]["p99"]),
        ("clients left behind", lambda r: r["leftBehind"]),
        ("server worker CPU %", lambda r: r.get("serverCpuPct")),
        ("load generator CPU %", lambda r: r.get("clientCpuPct")),
    ],
    "idle": [
        ("KiB per idle WebSocket", lambda r: r.get("kibPerWebsocket")),
        ("KiB per idle polling client", lambda r: r.get("kibPerPolling")),
        ("still connected after hold", lambda r: r["stillConnected"]),
    ],
}
FIGURES["capacity"] = FIGURES["idle"]
#: Another client's round trips while one connection floods (bench/floods.py).
FIGURES["flood"] = [
    ("others' RTT p50 ms", lambda r: r["rttMs"]["p50"]),
    ("others' RTT p99 ms", lambda r: r["rttMs"]["p99"]),
    ("others' round trips/s", lambda r: r["roundTripsPerS"]),
    ("flood closed or refused", lambda r: int(r.get("floodEnded", False))),
    ("worker not killed", lambda r: int(r.get("sameWorker", True))),
]


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(median(values), 1) if values else None


#: The servers the gateway is compared with: each row's ``ratio_NAME`` is gateway/NAME.
OTHERS = ("node", "baseline")


def summarize(records: list[dict]) -> list[dict]:
    """One row per scenario and figure: median per target, ratios, and summed errors/timeouts."""
    steps: dict[str, dict[str, list[dict]]] = {}
    for record in records:
        steps.setdefault(record["step"], {}).setdefault(record["target"], []).append(record["result"])
    rows = []
    for step, by_target in steps.items():
        kind = step.split()[0]
        for figure, read in FIGURES[kind]:
            row: dict = {"scenario": step, "figure": figure, "errors": {}, "timeouts": {}}
            for target, results in by_target.items():
                row[target] = _median([read(r) for r in results])
                row["runs"] = len(results)
                row["errors"][target] = sum(r.get("errors", 0) for r in results)
                row["timeouts"][target] = sum(r.get("timeouts", 0) for r in results)
            # The machine is shared: compare each gateway run with the other server's run next to it
            # (same round, same load from elsewhere), then take the median of those ratios.
            for other in OTHERS:
                pairs = zip(by_target.get("gateway", []), by_target.get(other, []), strict=False)
                ratios = [read(g) / read(o) for g, o in pairs if read(g) is not None and read(o)]
                if ratios:
                    row[f"ratio_{other}"] = round(median(ratios), 2)
            rows.append(row)
    return rows


def print_table(rows: list[dict], compared: bool) -> None:
    """The table: a column per server, then gateway/node and gateway/baseline (when they ran)."""
    present = {t for row in rows for t in row["errors"]}
    targets = [t for t in ("gateway", *OTHERS) if t in present] if compared else ["target"]
    others = [o for o in OTHERS if o in present] if compared else []
    header = f"{'scenario':<36} {'figure':<28}" + "".join(f"{t:>10}" for t in targets)
    header += "".join(f"{'g/' + o[:4]:>8}" for o in others)
    # Errors and timeouts summed over every run, per target (in the columns' order).
    print("\n" + header + f"{'errors':>10}{'timeouts':>10}")
    for row in rows:
        line = f"{row['scenario']:<36} {row['figure']:<28}"
        if len(row["scenario"]) > 36:
            line = f"{row['scenario']}\n{'':<36} {row['figure']:<28}"
        line += "".join(f"{_show(row.get(t)):>10}" for t in targets)
        line += "".join(f"{_show(row.get(f'ratio_{o}')):>8}" for o in others)
        errors = "/".join(str(row["errors"].get(t, "-")) for t in targets)
        timeouts = "/".join(str(row["timeouts"].get(t, "-")) for t in targets)
        print(line + f"{errors:>10}{timeouts:>10}")


def _show(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if abs(value) < 1000 else f"{value:,.0f}"


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    # python -m bench.report bench/logs/last-run.json: the table of a saved run, again.
    saved = json.loads(Path(sys.argv[1]).read_text())
    print_table(summarize(saved["records"]), compared=any(r["target"] != "target" for r in saved["records"]))
