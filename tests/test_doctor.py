"""`rolegate doctor URL`, run from outside the project, against each simulated host: verdict and exit."""

from __future__ import annotations

import re
import subprocess
import tempfile

from conftest import VENV_BIN, clean_env


def doctor(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "rolegate"), "doctor", url, *args],
        cwd=tempfile.gettempdir(),  # the installed command works from any directory
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def address(gateway) -> str:  # noqa: ANN001 (conftest.Gateway)
    return f"127.0.0.1:{gateway.port}"


# Ping intervals are scaled down (2-3 s): the doctor holds one long-poll for the full interval.


def test_iis_like_front_with_worker_role_does_not_fit(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_PING_INTERVAL="2")
    front = start_nginx("no-websocket.conf", gateway=address(gateway))
    done = doctor(front.url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL websocket: the path does not pass WebSocket" in done.stdout
    assert "ok   long-poll" in done.stdout
    assert "verdict: the profile 'worker-role' does NOT fit this path" in done.stdout
    assert "use: GATEWAY_PROFILE=web-role" in done.stdout


def test_iis_like_front_with_the_iis_preset_fits(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="iis", GATEWAY_PING_INTERVAL="2")
    front = start_nginx("no-websocket.conf", gateway=address(gateway))
    done = doctor(front.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "websocket: not allowed by the profile in force" in done.stdout
    assert "verdict: the profile 'iis' fits this path" in done.stdout
    assert "worker-role would work" not in done.stdout  # the front passes no Upgrade


def test_short_idle_front_cutting_long_polls_does_not_fit_and_the_advice_works(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_PING_INTERVAL="6")
    front = start_nginx("websocket.conf", gateway=address(gateway), read_timeout="4s")
    done = doctor(front.url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"FAIL long-poll: cut after [34]\.\d s \(HTTP 504\)", done.stdout), done.stdout
    advice = re.search(
        r"use: GATEWAY_PROFILE=worker-role (GATEWAY_HOST_IDLE_LIMIT=(\d+) GATEWAY_PING_INTERVAL=(\d+))",
        done.stdout,
    )
    assert advice, done.stdout
    assert int(advice[3]) < int(advice[2]) <= 4

    # Following the advice, the same front fits.
    settings = dict(pair.split("=") for pair in advice[1].split())
    fixed = start_gateway(GATEWAY_PROFILE="worker-role", **settings)
    again = doctor(start_nginx("websocket.conf", gateway=address(fixed), read_timeout="4s").url)
    assert again.returncode == 0, again.stdout
    assert "verdict: the profile 'worker-role' fits this path" in again.stdout


def test_short_idle_front_with_a_fitting_profile_fits(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="nginx", GATEWAY_HOST_IDLE_LIMIT="4", GATEWAY_PING_INTERVAL="3")
    front = start_nginx("websocket.conf", gateway=address(gateway), read_timeout="4s")
    done = doctor(front.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   websocket: the path passes the WebSocket upgrade" in done.stdout
    assert "ok   long-poll: held" in done.stdout
    assert "use: GATEWAY_PROFILE=nginx (the profile in force)" in done.stdout


def test_two_processes_behind_sticky_sid_routing_fit(start_gateway, start_nginx, redis_server):
    env = {"GATEWAY_MESSAGE_QUEUE": redis_server.url, "GATEWAY_PING_INTERVAL": "2"}
    g1 = start_gateway(GATEWAY_INSTANCE_TAG="g1", **env)
    g2 = start_gateway(GATEWAY_INSTANCE_TAG="g2", **env)
    front = start_nginx("sticky-sid.conf", gateway_1=address(g1), gateway_2=address(g2))
    for _ in range(2):  # one handshake lands on each process
        done = doctor(front.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok   long-poll" in done.stdout


def test_web_role_on_a_path_that_passes_websocket_fits_and_says_worker_role_would_too(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="web-role", GATEWAY_PING_INTERVAL="2")
    done = doctor(gateway.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note: the path passes WebSocket, so worker-role would work here too" in done.stdout


def test_refused_origin_does_not_fit_and_names_the_setting(start_gateway):
    gateway = start_gateway(GATEWAY_PING_INTERVAL="2")
    done = doctor(gateway.url, "--origin", "https://www.example.com")
    assert done.returncode == 1
    assert "FAIL polling handshake: origin https://www.example.com refused" in done.stdout
    assert "use: GATEWAY_PROFILE=worker-role GATEWAY_ALLOWED_ORIGINS=https://www.example.com" in done.stdout


def test_unreachable_gateway_exits_2_with_a_reason():
    done = doctor("http://127.0.0.1:9/")
    assert done.returncode == 2
    assert "cannot check http://127.0.0.1:9/: cannot reach 127.0.0.1:9" in done.stderr
