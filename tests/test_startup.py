"""Bad configuration stops start-up with one clear line and a non-zero exit; each mode serves."""

from __future__ import annotations

import json
import subprocess

import pytest
from clients import node_hello, python_hello
from conftest import ROOT, clean_env, procfile_command
from wire import websocket_attempt

HELLO = "Hello back!"


def start_and_fail(command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command.replace("$PORT", "0"),
        shell=True,
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"GATEWAY_PROFILE": "api-role"},
            "unknown profile 'api-role'; valid profiles: web-role, worker-role",
        ),
        ({"GATEWAY_TIMEOUT": "5"}, "unknown environment variable GATEWAY_TIMEOUT; valid ones:"),
        ({"GATEWAY_PING_INTERVAL": "0"}, "GATEWAY_PING_INTERVAL: bad value '0' for ping_interval"),
        ({"GATEWAY_TRANSPORTS": "flashsocket"}, "'flashsocket' no longer exists in Engine.IO v4"),
        ({"GATEWAY_TRANSPORTS": "smoke-signals"}, "unknown transport 'smoke-signals'"),
        ({"GATEWAY_ASYNC_MODE": "eventlet"}, "start it with `python app.py`"),
        (
            {"GATEWAY_PROFILE": "heroku", "GATEWAY_PING_INTERVAL": "25"},
            "ping_interval 25 s does not fit under host_idle_limit 30 s",
        ),
    ],
)
def test_procfile_refuses_bad_configuration(env, message):
    done = start_and_fail(procfile_command(), **env)
    assert done.returncode != 0
    assert done.stderr.startswith("rolegate: configuration error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_python_app_refuses_bad_configuration():
    done = start_and_fail("python app.py", GATEWAY_PROFILE="nope")
    assert done.returncode == 2
    assert "valid profiles: web-role, worker-role" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("profile", ["web-role", "worker-role"])
def test_threading_mode_under_gthread(start_gateway, profile):
    gateway = start_gateway(GATEWAY_PROFILE=profile, GATEWAY_ASYNC_MODE="threading")
    assert "Using worker: gthread" in gateway.log()
    assert python_hello(gateway.url, ["polling"])["reply"] == HELLO
    if profile == "worker-role":
        assert python_hello(gateway.url, ["websocket"])["reply"] == HELLO
        assert node_hello(gateway.url, ["polling", "websocket"])["upgraded"] is True


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_python_app_serves_without_gunicorn(start_gateway, mode):
    gateway = start_gateway(command="python app.py", GATEWAY_ASYNC_MODE=mode)
    assert python_hello(gateway.url, ["polling"])["reply"] == HELLO
    assert python_hello(gateway.url, ["websocket"])["reply"] == HELLO
    assert node_hello(gateway.url, ["polling", "websocket"])["upgraded"] is True
    if mode == "eventlet":
        assert "eventlet's maintainers discourage new use" in gateway.log()


def test_python_app_web_role_refuses_websocket_with_its_reason(start_gateway):
    """The IIS path (`python app.py`, web-role) answers a WebSocket attempt with the gate's 400 and body."""
    gateway = start_gateway(command="python app.py", GATEWAY_PROFILE="web-role")
    status, body = websocket_attempt(gateway.url, "EIO=4&transport=websocket")
    assert status == 400
    refusal = json.loads(body)
    assert (refusal["code"], refusal["profile"]) == ("transport_not_allowed", "web-role")
    assert python_hello(gateway.url, ["polling"])["reply"] == HELLO
