"""The benchmark's quick mode runs every scenario against a real gateway without an error.

It proves `make bench` works; it asserts nothing about speed (that lives in bench/RESULTS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_quick_bench_runs_every_scenario_cleanly(start_gateway, tmp_path):
    gateway = start_gateway(
        GATEWAY_PROFILE="worker-role",
        GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path / 'history.db'}",
        GATEWAY_MESSAGES_PER_SECOND="1000",
        GATEWAY_MESSAGE_BURST="1000",
    )
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--url", gateway.url, "--pid", str(gateway.process.pid)]
        + ["--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    records = json.loads(out.read_text())["records"]
    results = {record["step"]: record["result"] for record in records}
    assert set(results) == {
        "roundtrip websocket 1 clients",
        "roundtrip websocket 20 clients",
        "roundtrip polling 1 clients",
        "roundtrip polling 20 clients",
        "fanout websocket 20 receivers",
        "fanout polling 20 receivers",
        "storm ws 200 clients, 10 rooms",
        "idle 50 ws + 50 polling",
    }
    for step, result in results.items():
        assert result["errors"] == 0, (step, result)
        assert result.get("timeouts", 0) == 0, (step, result)
    for transport in ("websocket", "polling"):
        assert results[f"roundtrip {transport} 20 clients"]["connected"] == 20
        assert results[f"roundtrip {transport} 20 clients"]["rttMs"]["samples"] > 0
    assert results["fanout websocket 20 receivers"]["latencyMs"]["samples"] > 0
    assert results["fanout polling 20 receivers"]["latencyMs"]["samples"] > 0
    storm = results["storm ws 200 clients, 10 rooms"]
    assert storm["rejoined"] == 200 and storm["leftBehind"] == 0, storm
    idle = results["idle 50 ws + 50 polling"]
    assert idle["stillConnected"] == 100
    assert idle["kibPerWebsocket"] > 0  # RSS was read from the gunicorn worker


def test_the_request_path_bench_serves_polling_round_trips_in_one_process():
    """bench/requestpath.py (the A/B for small steps) still runs the gateway and gets its answers."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.requestpath", "--runs", "1", "--round-trips", "50"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "us CPU per round trip" in done.stdout
