"""No client can hurt another: floods against gunicorn from the Procfile, as another user sees them.

Each flood of the hostile pass (a WebSocket kept full of Engine.IO noops, of unknown events, or of
empty continuation frames, on either WebSocket driver; one keep-alive connection pipelining polling
POSTs on web-role) runs for a few seconds while another user chats. With the inbound budget out
of the way, fairness must come from taking turns alone: the other user's ack still comes within
2 s, and gunicorn, run with a 3 s worker timeout, never kills the worker (same pid). With a small
budget the flooding WebSocket is closed with 1008 ``flood: ...``, and polling gets 429 ``flood``.
"""

from __future__ import annotations

import json
import time

import pytest
from chat_client import ChatUser
from conftest import Gateway, procfile_command

from bench.floods import FLOODS, PipelinedPolling, WebSocketFlood, ack_times, http_request, summary
from bench.servers import worker_pid

DRIVERS = ["inline", "simple-websocket"]
FLOOD_S = 4.0
#: gunicorn's heartbeat timeout for these tests (the Procfile's line plus this flag): a worker that
#: a flood kept from its heartbeat for 3 s is killed, well inside FLOOD_S.
TIMEOUT_FLAG = " --timeout 3"
#: The budget out of the way: fairness must come from taking turns.
NO_BUDGET = {
    "GATEWAY_INBOUND_PACKETS_PER_SECOND": "1e9",
    "GATEWAY_INBOUND_PACKET_BURST": "1000000000",
    "GATEWAY_INBOUND_BYTES_PER_SECOND": "1e12",
    "GATEWAY_INBOUND_BYTE_BURST": "1000000000000",
    # An endless message of empty continuations is not ended by the size limit either.
    "GATEWAY_MAX_MESSAGE_BYTES": "100000000",
    # The bystander says something every 50 ms to time its acks: the chat's own rate limit (5 a
    # second) refused most of them, and its message after the flood when that came too soon.
    "GATEWAY_MESSAGES_PER_SECOND": "1000",
    "GATEWAY_MESSAGE_BURST": "1000",
}
SMALL_BUDGET = {
    "GATEWAY_INBOUND_PACKETS_PER_SECOND": "200",
    "GATEWAY_INBOUND_PACKET_BURST": "400",
    "GATEWAY_INBOUND_BYTES_PER_SECOND": "20000",
    "GATEWAY_INBOUND_BYTE_BURST": "40000",
}
ACK_BOUND_S = 2.0


def start(start_gateway, **env: str) -> tuple[Gateway, int]:  # noqa: ANN001
    gateway = start_gateway(command=procfile_command() + TIMEOUT_FLAG, **env)
    return gateway, worker_pid(gateway.process.pid)


def assert_worker_lived(gateway: Gateway, pid: int) -> None:
    assert worker_pid(gateway.process.pid) == pid
    assert "WORKER TIMEOUT" not in gateway.log()
    assert "Traceback" not in gateway.log()


@pytest.mark.parametrize("kind", list(FLOODS))
@pytest.mark.parametrize("driver", DRIVERS)
def test_a_websocket_flood_delays_no_one_and_the_worker_lives(start_gateway, driver, kind):
    gateway, pid = start(start_gateway, GATEWAY_WEBSOCKET_DRIVER=driver, **NO_BUDGET)
    user = ChatUser(gateway.url, name="other")
    user.join("calm")
    flood = WebSocketFlood(gateway.url, kind).start()
    try:
        time.sleep(0.3)
        times = ack_times(lambda: user.say("calm", "still here"), FLOOD_S)
        assert flood.error is None, flood.error  # the flood went on the whole time
    finally:
        flood.close()
    assert max(times) < ACK_BOUND_S, summary(times)
    assert flood.sent > 1_000_000
    after = user.say("calm", "after")
    assert after["ok"], after
    assert_worker_lived(gateway, pid)
    user.close()


@pytest.mark.parametrize("kind", list(FLOODS))
@pytest.mark.parametrize("driver", DRIVERS)
def test_a_websocket_flood_over_its_budget_is_closed_with_1008(start_gateway, driver, kind):
    gateway, pid = start(start_gateway, GATEWAY_WEBSOCKET_DRIVER=driver, **SMALL_BUDGET)
    user = ChatUser(gateway.url, name="other")
    user.join("calm")
    flood = WebSocketFlood(gateway.url, kind).start()
    try:
        code, reason = flood.close_frame(10) or (None, "")
    finally:
        flood.close()
    assert code == 1008, reason
    assert reason.startswith("flood: more than"), reason
    assert user.say("calm", "still here")["ok"]  # its own budget is untouched
    assert_worker_lived(gateway, pid)
    user.close()


def test_pipelined_polling_delays_no_one_and_the_worker_lives(start_gateway):
    gateway, pid = start(start_gateway, GATEWAY_PROFILE="web-role", **NO_BUDGET)
    user = ChatUser(gateway.url, transports=["polling"], name="other")
    user.join("calm")
    flood = PipelinedPolling(gateway.url).start()
    try:
        time.sleep(0.3)
        health = ack_times(lambda: http_request(gateway.url, "GET", "/healthz"), FLOOD_S / 2)
        acks = ack_times(lambda: user.say("calm", "still here"), FLOOD_S / 2)
        assert flood.error is None, flood.error
    finally:
        flood.close()
    assert max(health) < ACK_BOUND_S, summary(health)
    assert max(acks) < ACK_BOUND_S, summary(acks)
    assert flood.statuses().count(200) > 100  # the flood was served too, in its turns
    assert_worker_lived(gateway, pid)
    user.close()


def test_pipelined_polling_over_its_budget_gets_429_flood(start_gateway):
    gateway, pid = start(
        start_gateway,
        GATEWAY_PROFILE="web-role",
        GATEWAY_INBOUND_PACKETS_PER_SECOND="1",
        GATEWAY_INBOUND_PACKET_BURST="100",
    )
    user = ChatUser(gateway.url, transports=["polling"], name="other")
    user.join("calm")
    # 150 requests, then it stops writing: had it written on, the server's close with requests
    # still unread would send a reset, which can discard answers the client had not read yet.
    flood = PipelinedPolling(gateway.url, requests=150).start()
    try:
        # Refused with Connection: close, so the pipelining connection ends.
        assert flood.ended.wait(5)
        status, body = http_request(
            gateway.url, "POST", f"/socket.io/?EIO=4&transport=polling&sid={flood.sid}", b'42["zz",1]'
        )
    finally:
        flood.close()
    assert status == 429, body
    assert json.loads(body)["code"] == "flood"
    assert 90 <= flood.statuses().count(200) <= 102  # the burst (and the handshake's POST) passed
    assert user.say("calm", "still here")["ok"]  # another session's budget is its own
    assert_worker_lived(gateway, pid)
    user.close()
