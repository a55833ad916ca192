"""Operations: /metrics in Prometheus format, and a graceful stop on SIGTERM."""

from __future__ import annotations

import http.client
import os
import signal
import time
import urllib.request

import pytest
import socketio
from chat_client import ChatUser, wait_for
from conftest import procfile_command
from prometheus_client.parser import text_string_to_metric_families
from wire import get


def scrape(url: str) -> tuple[str, dict[tuple[str, tuple], float]]:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return content_type, samples


def test_metrics_count_connections_upgrades_refusals_messages_errors_and_history_writes(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    users = [
        ChatUser(gateway.url, ["polling"], name="ann"),
        ChatUser(gateway.url, ["websocket"], name="bob"),
        ChatUser(gateway.url, ["polling", "websocket"], name="cy"),
    ]
    try:
        wait_for(lambda: users[2].client.transport() == "websocket")
        assert users[0].join("lobby")["ok"] is True
        assert users[0].say("lobby", "hello")["ok"] is True
        assert users[1].say("lobby", "not joined")["error"]["code"] == "not_in_room"
        # A WebSocket request whose Upgrade header a proxy dropped.
        status, _ = get(gateway.url, "/socket.io/?EIO=4&transport=websocket")
        assert status == 400
        # A polling payload that does not decode.
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        conn.request("POST", "/socket.io/?EIO=4&transport=polling&sid=x", body=b"not a packet")
        assert conn.getresponse().status == 400
        conn.close()

        content_type, samples = scrape(gateway.url)
    finally:
        for user in users:
            user.close()
    assert content_type.startswith("text/plain; version=")
    assert samples[("rolegate_connections", (("transport", "polling"),))] == 1
    assert samples[("rolegate_connections", (("transport", "websocket"),))] == 2
    assert samples[("rolegate_upgrades_total", ())] == 1
    refused = (("reason", "no_upgrade_header"), ("transport", "websocket"))
    assert samples[("rolegate_refused_requests_total", refused)] == 1
    malformed = (("reason", "malformed_payload"), ("transport", "polling"))
    assert samples[("rolegate_refused_requests_total", malformed)] == 1
    assert samples[("rolegate_events_total", (("event", "message"),))] == 2
    assert samples[("rolegate_errors_total", (("code", "not_in_room"),))] == 1
    assert samples[("rolegate_history_write_seconds_count", ())] == 1
    assert samples[("rolegate_profile_info", (("instance_tag", ""), ("profile", "worker-role")))] == 1


def test_metrics_answer_only_the_bearer_of_the_token_when_one_is_set(start_gateway):
    token = "0123456789abcdef01234567"
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_METRICS_TOKEN=token)
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": token}):
        status, body = get(gateway.url, "/metrics", headers)
        assert status == 401
        assert "needs Authorization: Bearer <GATEWAY_METRICS_TOKEN>" in body
    status, body = get(gateway.url, "/metrics", {"Authorization": f"Bearer {token}"}, limit=None)
    assert status == 200
    assert 'rolegate_profile_info{instance_tag="",profile="worker-role"} 1.0' in body
    assert token not in gateway.log()


class Reconnecting:
    """python-socketio's client with reconnection on, recording why it was disconnected."""

    def __init__(self, url: str, transports: list[str]) -> None:
        self.reasons: list[str] = []
        self.client = socketio.Client(reconnection_delay=5, reconnection_delay_max=5)
        self.client.on("disconnect", lambda reason="": self.reasons.append(str(reason)))
        self.client.connect(url, transports=transports, wait_timeout=10)


@pytest.mark.parametrize("command", [procfile_command(), "python app.py"], ids=["procfile", "python-app"])
def test_sigterm_sends_clients_away_and_stops_well_inside_the_grace_period(start_gateway, command):
    # exec: the process the test waits for is the server itself, not a shell around it.
    gateway = start_gateway(command=f"exec {command}")
    clients = [Reconnecting(gateway.url, ["websocket"]), Reconnecting(gateway.url, ["polling"])]
    try:
        started = time.monotonic()
        os.killpg(gateway.process.pid, signal.SIGTERM)  # what a PaaS sends to stop a dyno/container
        gateway.process.wait(timeout=30)
        stopped_in = time.monotonic() - started
        # Without the drain, the open WebSocket alone holds the worker for its 10 s graceful_timeout.
        assert stopped_in < 8, f"stopped in {stopped_in:.1f} s"
        assert "shutting down: told 2 connected clients to reconnect" in gateway.log()
        for client in clients:
            wait_for(lambda client=client: client.reasons, seconds=5)
            # A dropped transport, not "server disconnect": the client reconnects by itself.
            assert client.reasons[0] == socketio.Client.reason.TRANSPORT_ERROR
            assert client.client._reconnect_task is not None
    finally:
        for client in clients:
            client.client.disconnect()
