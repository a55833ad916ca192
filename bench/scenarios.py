"""Each scenario runs the Node load generator once against one URL and returns its figures."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOAD_JS = Path(__file__).with_name("load.js")
ROOT = LOAD_JS.parent.parent

#: Read the server worker's RSS in KiB, or None when the target is only a URL.
RssReader = Callable[[], int] | None


class LoadError(RuntimeError):
    """The load generator failed or ran past its bound; the message has its output."""


def run_load(config: dict[str, Any], on_phase: Callable[[dict], None] | None = None) -> dict:
    """Run load.js with ``config``; ``on_phase`` is called at each phase line, before it resumes."""
    bound = config.setdefault("maxSeconds", 300)
    config["pauseAtPhases"] = on_phase is not None
    process = subprocess.Popen(
        ["node", str(LOAD_JS), json.dumps(config)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    result = None
    started = time.monotonic()
    try:
        assert process.stdout is not None and process.stdin is not None
        for line in process.stdout:
            message = json.loads(line)
            if "phase" in message and on_phase:
                on_phase(message)
                process.stdin.write("go\n")
                process.stdin.flush()
            elif "result" in message:
                result = message["result"]
            if time.monotonic() - started > bound + 30:
                break
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if not result or "error" in result:
        stderr = process.stderr.read() if process.stderr else ""
        raise LoadError(f"load generator failed: {result} {stderr[-2000:]}")
    return result


def roundtrip(url: str, transport: str, clients: int, duration_s: float) -> dict:
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
        }
    )


def fanout(url: str, transport: str, receivers: int, duration_s: float) -> dict:
    return run_load(
        {
            "scenario": "fanout",
            "url": url,
            "transport": transport,
            "receivers": receivers,
            "window": 4,
            "durationS": duration_s,
            "warmupS": 1,
            "timeoutMs": 10_000,
            "maxSeconds": duration_s + 60,
        }
    )


def idle(url: str, websockets: int, polling: int, hold_s: float, read_rss: RssReader) -> dict:
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
