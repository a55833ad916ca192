"""Each scenario runs the Node load generator once against one URL and returns its figures."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOAD_JS = Path(__file__).with_name("load.js")
ROOT = LOAD_JS.parent.parent

#: Read the server worker's RSS in KiB, or None when the target is only a URL.
RssReader = Callable[[], int] | None
#: Read the server worker's CPU seconds so far, or None when the target is only a URL.
CpuReader = Callable[[], float] | None


class LoadError(RuntimeError):
    """The load generator failed or ran past its bound; the message has its output."""


def split_counts(total: int, parts: int) -> list[int]:
    """``total`` clients over ``parts`` load processes, as evenly as whole clients allow."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_load(
    config: dict[str, Any],
    on_phase: Callable[[dict], None] | None = None,
    processes: int = 1,
    split: tuple[str, ...] = (),
) -> dict:
    """Run load.js with ``config``; ``on_phase`` is called at each phase line, before it resumes.

    With ``processes`` > 1, that many load.js processes share the counts named in ``split``; a
    phase is a barrier (``on_phase`` once every process has reached it, then all resume together),
    and their results are merged (``merge_results``).
    """
    bound = config.setdefault("maxSeconds", 300)
    config["pauseAtPhases"] = on_phase is not None
    configs = []
    shares = {key: split_counts(config[key], processes) for key in split}
    for index in range(processes):
        part = {**config, **{key: shares[key][index] for key in split}}
        part["returnSamples"] = processes > 1
        configs.append(part)
    launched = [
        subprocess.Popen(
            ["node", str(LOAD_JS), json.dumps(part)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in configs
    ]
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()

    def pump(index: int, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put((index, line))
        lines.put((index, None))

    for index, process in enumerate(launched):
        threading.Thread(target=pump, args=(index, process), daemon=True).start()
    results: dict[int, dict] = {}
    arrived: dict[str, list[dict]] = {}
    deadline = time.monotonic() + bound + 30
    ended = 0
    try:
        while ended < len(launched):
            try:
                index, line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                ended += 1
                continue
            message = json.loads(line)
            if "phase" in message and on_phase:
                at_phase = arrived.setdefault(message["phase"], [])
                at_phase.append(message)
                if len(at_phase) == len(launched):
                    on_phase(at_phase[0] if len(at_phase) == 1 else {"phase": message["phase"]})
                    for process in launched:
                        _resume(process)
            elif "result" in message:
                results[index] = message["result"]
            if time.monotonic() > deadline:
                break
        for process in launched:
            process.wait(30)
    finally:
        for process in launched:
            if process.poll() is None:
                process.kill()
                process.wait()
    failed = [i for i in range(len(launched)) if i not in results or "error" in results[i]]
    if failed:
        stderr = "".join(launched[i].stderr.read() for i in failed if launched[i].stderr)
        raise LoadError(f"load generator failed: {[results.get(i) for i in failed]} {stderr[-2000:]}")
    return merge_results([results[i] for i in range(len(launched))])


def _resume(process: subprocess.Popen) -> None:
    """Tell a load process waiting at a phase to go on (it may have ended meanwhile)."""
    assert process.stdin is not None
    try:
        process.stdin.write("go\n")
        process.stdin.flush()
    except (BrokenPipeError, OSError):
        pass


#: Counts and rates that add up over load processes (each has its own clients, measured in
#: the same window); anything else is taken from the first process, or merged below.
SUMMED = {
    "clients",
    "connected",
    "receivers",
    "roundTripsPerS",
    "deliveriesPerS",
    "timeouts",
    "errors",
    "websockets",
    "polling",
    "stillConnected",
    "drops",
    "rejoined",
    "leftBehind",
    "reconnectAttempts",
    "reconnectErrors",
    "firstJoinErrors",
    "rejoinErrors",
}
LATENCIES = ("rttMs", "latencyMs", "backMs")


def _percentile(ordered: list[float], p: float) -> float | None:
    """As load.js's percentile(): the value at floor(p% of n), so one process's figures are unchanged."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def merge_results(parts: list[dict]) -> dict:
    """One result from several load processes' results.

    Throughput and counts are summed. Latency percentiles come from every process's samples merged
    (each returns its raw values), not from combining their percentiles. ``clientCpuPct`` is the
    busiest process (the one that would be the limit); ``clientCpuPctEach`` lists them all.
    """
    if len(parts) == 1:
        return parts[0]
    merged = dict(parts[0])
    for key in SUMMED & parts[0].keys():
        merged[key] = sum(part[key] for part in parts)
    merged["errorSamples"] = [s for part in parts for s in part.get("errorSamples", [])][:5]
    merged["clientCpuPctEach"] = [part.get("clientCpuPct") for part in parts]
    merged["clientCpuPct"] = max(part.get("clientCpuPct") or 0 for part in parts)
    for key in LATENCIES:
        if key in parts[0]:
            values = sorted(v for part in parts for v in part[key].get("values", []))
            merged[key] = {
                "p50": _percentile(values, 50),
                "p99": _percentile(values, 99),
                "samples": len(values),
            }
    if "seconds" in parts[0]:  # the storm: all back once the slowest process is
        merged["seconds"] = max(part["seconds"] for part in parts)
        merged["connectsPerS"] = round(merged["rejoined"] / merged["seconds"]) if merged["seconds"] else None
    merged["loadProcesses"] = len(parts)
    return merged


def roundtrip(url: str, transport: str, clients: int, duration_s: float, processes: int = 1) -> dict:
    return run_load(
        {
            "scenario": "roundtrip",
            "url": url,
            "transport": transport,
            "clients": clients,
            "durationS": duration_s,
            "warmupS": 1,
            "timeoutMs": 10_000,
            "maxSeconds": duration_s + 60,
        },
        processes=processes,
        split=("clients",),
    )


def fanout(url: str, transport: str, receivers: int, duration_s: float, processes: int = 1) -> dict:
    """Messages to one room of ``receivers``; with several load processes, each sends its share of
    the window (at least one) into the one room, and counts what its receivers get from all."""
    return run_load(
        {
            "scenario": "fanout",
            "url": url,
            "transport": transport,
            "receivers": receivers,
            "room": f"bench-{os.getpid()}-{time.monotonic_ns()}",
            "window": max(1, round(4 / processes)),
            "durationS": duration_s,
            "warmupS": 1,
            "timeoutMs": 10_000,
            "maxSeconds": duration_s + 60,
        },
        processes=processes,
        split=("receivers",),
    )


def idle(
    url: str, websockets: int, polling: int, hold_s: float, read_rss: RssReader, processes: int = 1
) -> dict:
    """Connect idle clients in two steps and read the server's RSS after each (settled 2 s)."""
    rss: dict[str, int] = {}

    def on_phase(message: dict) -> None:
        if read_rss is None:
            return
        time.sleep(2 if message["phase"] != "ready" else 0.5)
        rss[message["phase"]] = read_rss()

    result = run_load(
        {
            "scenario": "idle",
            "url": url,
            "websockets": websockets,
            "polling": polling,
            "holdS": hold_s,
            "connectConcurrency": 100,
            "maxSeconds": hold_s + 240,
        },
        on_phase,
        processes=processes,
        split=("websockets", "polling"),
    )
    if rss:
        result["rssKiB"] = rss
        if result["websockets"]:
            ws = rss["websockets_connected"] - rss["ready"]
            result["kibPerWebsocket"] = round(ws / result["websockets"], 1)
        if result["polling"]:
            polling_kib = rss["polling_connected"] - rss["websockets_connected"]
            result["kibPerPolling"] = round(polling_kib / result["polling"], 1)
    return result


def storm(url: str, clients: int, rooms: int, read_cpu: CpuReader, processes: int = 1) -> dict:
    """The reconnect storm (load.js ``storm``); the server's CPU is read over the storm window only,
    from the drop to the last rejoin (the load processes pause there for it)."""
    reads: dict[str, tuple[float, float]] = {}

    def on_phase(message: dict) -> None:
        if read_cpu is not None:
            reads[message["phase"]] = (read_cpu(), time.monotonic())

    result = run_load(
        {
            "scenario": "storm",
            "url": url,
            "clients": clients,
            "rooms": rooms,
            "roomPrefix": f"storm-{os.getpid()}-{time.monotonic_ns()}",
            "connectConcurrency": 100,
            "stormTimeoutS": 60,
            "timeoutMs": 10_000,
            "maxSeconds": 240,
        },
        on_phase,
        processes=processes,
        split=("clients",),
    )
    if "joined" in reads and "back" in reads:
        used = reads["back"][0] - reads["joined"][0]
        result["serverCpuS"] = round(used, 3)
        result["serverCpuPct"] = round(100 * used / (reads["back"][1] - reads["joined"][1]), 1)
        # The headline: rejoined clients per second of server CPU (not of wall time).
        result["connectsPerCpuS"] = round(result["rejoined"] / used) if used > 0 else None
    return result


#: What each flood scenario runs: the flood (bench/floods.py), the gateway's profile, the transport
#: of the clients measured beside it.
FLOOD_SCENARIOS = {
    "none": ("worker-role", "websocket"),
    "noop": ("worker-role", "websocket"),
    "unknown_event": ("worker-role", "websocket"),
    "empty_continuation": ("worker-role", "websocket"),
    "pipelined_polling": ("web-role", "polling"),
}


def flood(url: str, kind: str, transport: str, clients: int, duration_s: float) -> dict:
    """Other clients' round trips (load.js) while one connection floods (bench/floods.py)."""
    from bench.floods import PipelinedPolling, WebSocketFlood

    if kind == "none":
        return roundtrip(url, transport, clients, duration_s)
    flooder = PipelinedPolling(url) if kind == "pipelined_polling" else WebSocketFlood(url, kind)
    flooder.start()
    try:
        result = roundtrip(url, transport, clients, duration_s)
        ended = flooder.error is not None  # read before close(), which ends it from our side
    finally:
        flooder.close()
    if kind == "pipelined_polling":
        result["floodRequests"] = flooder.sent
    else:
        result["floodSentMB"] = round(flooder.sent / 1e6, 1)
    result["floodEnded"] = ended  # the gateway closed (or refused) the flooding connection
    return result
