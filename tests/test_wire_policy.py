"""Each built-in profile served by gunicorn from the Procfile: what goes on the wire."""

from __future__ import annotations

import json
import urllib.request

import pytest
from clients import node_hello, python_hello
from wire import get, handshake, websocket_attempt

HELLO = "Hello back!"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


# --- web-role: long-polling only, no WebSocket ever --------------------------------


def test_web_role_health_and_policy_name_the_profile(web_role):
    assert get_json(web_role.url + "/healthz") == {
        "status": "ok",
        "profile": "web-role",
        "transports": ["polling"],
    }
    policy = get_json(web_role.url + "/policy")
    assert policy["transports"] == ["polling"]
    assert policy["upgrade"] is False
    assert policy["pingInterval"] == 10_000


def test_web_role_handshake_offers_no_upgrade(web_role):
    opened = handshake(web_role.url)
    assert opened["upgrades"] == []
    assert opened["pingInterval"] == 10_000


def test_web_role_python_client_polls(web_role):
    result = python_hello(web_role.url, ["polling"], wait_upgrade=1)
    assert result == {"first": "polling", "transport": "polling", "reply": HELLO}


def test_web_role_node_client_polls(web_role):
    result = node_hello(web_role.url, ["polling"])
    assert result["reply"] == HELLO
    assert result["transport"] == "polling"
    assert result["upgraded"] is False


def test_web_role_refuses_a_plain_websocket(web_role):
    status, body = websocket_attempt(web_role.url, "EIO=4&transport=websocket")
    assert status == 400
    assert "web-role" in body and "websocket is not allowed" in body


def test_web_role_refuses_a_disguised_upgrade_of_a_live_session(web_role):
    """The hole in python-engineio: Upgrade header + transport=polling + a live sid."""
    sid = handshake(web_role.url)["sid"]
    status, body = websocket_attempt(web_role.url, f"EIO=4&transport=polling&sid={sid}")
    assert status == 400
    assert "web-role" in body
    assert "refused websocket upgrade from 127.0.0.1" in web_role.log()


def test_web_role_node_client_asking_for_websocket_fails(web_role):
    result = node_hello(web_role.url, ["websocket"])
    assert result["connected"] is False


# --- worker-role: WebSocket first, polling as fallback -------------------------------


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], ["websocket", "polling"]])
def test_worker_role_python_client_every_transport(worker_role, transports):
    result = python_hello(worker_role.url, transports)
    assert result["reply"] == HELLO
    assert result["first"] == transports[0]


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_worker_role_node_client_every_transport(worker_role, transports):
    result = node_hello(worker_role.url, transports, upgrade=False)
    assert result["reply"] == HELLO
    assert result["transport"] == transports[0]


def test_worker_role_python_client_upgrades_from_polling(worker_role):
    result = python_hello(worker_role.url, ["polling", "websocket"], wait_upgrade=5)
    assert result["transport"] == "websocket"
    assert result["reply"] == HELLO
    assert "upgrading from polling to websocket" in worker_role.log()


def test_worker_role_node_client_upgrades_from_polling(worker_role):
    result = node_hello(worker_role.url, ["polling", "websocket"])
    assert result["reply"] == HELLO
    assert result["upgraded"] is True
    assert result["transport"] == "websocket"


def test_worker_role_handshake_offers_the_upgrade(worker_role):
    assert handshake(worker_role.url)["upgrades"] == ["websocket"]
    status, _ = websocket_attempt(worker_role.url, "EIO=4&transport=websocket")
    assert status == 101


def test_worker_role_logs_profile_and_transport_per_connection(worker_role):
    python_hello(worker_role.url, ["polling"])
    log = worker_role.log()
    assert "profile 'worker-role' in force: websocket then polling, upgrade offered" in log
    assert "over polling from 127.0.0.1" in log
    assert "chat history kept in SQLite file " in log and "history.db" in log
    # One line per connection, none per message: a log write per event cost 12% of WebSocket time
    # (bench/RESULTS.md). The per-message line is there at GATEWAY_LOG_LEVEL=debug.
    assert "sent sendMessage" not in log


def test_a_websocket_handshake_of_another_protocol_version_is_refused_and_leaves_no_session(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    status, body = websocket_attempt(gateway.url, "EIO=4&transport=websocket", version="8")
    assert status == 400
    assert "needs Sec-WebSocket-Version: 13" in body
    _, metrics = get(gateway.url, "/metrics", limit=None)
    assert 'rolegate_connections{transport="polling"} 0.0' in metrics  # no session was opened for it
    assert 'rolegate_connections{transport="websocket"} 0.0' in metrics
    assert 'rolegate_refused_requests_total{reason="bad_handshake",transport="websocket"} 1.0' in metrics


def test_websocket_only_profile_refuses_polling(start_gateway):
    gateway = start_gateway(GATEWAY_TRANSPORTS="websocket")
    status, body = websocket_attempt(gateway.url, "EIO=4&transport=websocket")
    assert status == 101
    with pytest.raises(AssertionError, match="polling is not allowed"):
        handshake(gateway.url)
    assert python_hello(gateway.url, ["websocket"])["reply"] == HELLO
