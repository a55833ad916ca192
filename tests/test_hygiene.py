"""No client can hurt another: each attack of the hostile pass, against gunicorn from the Procfile.

The attacker connects from 127.0.0.2 (its own address, as far as the per-address caps go); the
bystander is a well-behaved user on 127.0.0.1 whose acks must keep arriving, on a worker that is
never replaced. Settings are small (1 s header timeout, caps of 5) so each attack is quick.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from chat_client import ChatUser, wait_for
from conftest import ROOT, Gateway, procfile_command
from wire import websocket_attempt

ATTACKER = "127.0.0.2"
CAP = 5
MAX_BYTES = 4096
SMALL = {
    "GATEWAY_HEADER_TIMEOUT": "1",
    "GATEWAY_KEEPALIVE_TIMEOUT": "2",
    "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS": str(CAP),
    "GATEWAY_MAX_SESSIONS_PER_ADDRESS": str(CAP),
    "GATEWAY_MAX_MESSAGE_BYTES": str(MAX_BYTES),
}
#: Generous bound for a bystander's ack while an attack is on.
ACK_WITHIN = 2.0
PROFILES = ["web-role", "worker-role"]
TRANSPORTS = {"web-role": ["polling"], "worker-role": ["websocket"]}


def worker_pids(gateway: Gateway) -> list[str]:
    return re.findall(r"Booting worker with pid: (\d+)", gateway.log())


def attacker_socket(gateway: Gateway) -> socket.socket:
    return socket.create_connection(("127.0.0.1", gateway.port), timeout=10, source_address=(ATTACKER, 0))


def exchange(gateway: Gateway, raw: bytes, source: str = ATTACKER) -> bytes:
    """Send raw bytes on a fresh connection; everything the server sends back until it closes."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(raw)
        return read_until_closed(s)


def read_until_closed(s: socket.socket) -> bytes:
    received = b""
    while chunk := s.recv(65536):
        received += chunk
    return received


def refusal_code(response: bytes) -> tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["code"]


def acked_quickly(user: ChatUser, room: str) -> None:
    started = time.monotonic()
    assert user.say(room, "still here")["ok"]
    assert time.monotonic() - started < ACK_WITHIN


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def gateway(start_gateway, profile: str) -> Gateway:
    return start_gateway(GATEWAY_PROFILE=profile, **SMALL)


@pytest.fixture
def bystander(gateway: Gateway, profile: str) -> Iterator[ChatUser]:
    user = ChatUser(gateway.url, transports=TRANSPORTS[profile], name="bystander")
    assert user.join("calm")["ok"]
    yield user
    user.close()


def test_slowloris_connections_are_closed_after_the_header_timeout(gateway, bystander):
    pids = worker_pids(gateway)
    partial = [b"GET /socket.io/?EIO=4&transport=pol", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1"]
    attackers = []
    for i in range(40):
        s = attacker_socket(gateway)
        s.sendall(partial[i % 2])
        attackers.append(s)
    acked_quickly(bystander, "calm")
    started = time.monotonic()
    for s in attackers:
        assert read_until_closed(s) == b""  # closed quietly, with nothing to parse
        s.close()
    assert time.monotonic() - started < 10
    acked_quickly(bystander, "calm")
    assert worker_pids(gateway) == pids
    assert "Traceback" not in gateway.log()


def test_an_idle_keep_alive_connection_is_closed_and_told_its_timeout(gateway):
    with attacker_socket(gateway) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        response = read_until_closed(s)
    assert response.startswith(b"HTTP/1.1 200")
    assert b"Keep-Alive: timeout=2\r\n" in response
    assert 1 < time.monotonic() - started < 10


def test_a_request_that_asks_to_close_is_answered_with_connection_close(gateway):
    response = exchange(gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 200")
    assert b"Connection: close\r\n" in response.partition(b"\r\n\r\n")[0]


def test_node_keep_alive_agent_is_told_and_its_next_request_works(gateway):
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "node" / "keepalive.js"), gateway.url + "/healthz"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    first, second = json.loads(result.stdout)
    assert first == {"status": 200, "connection": "close"}
    assert second["status"] == 200, second


@pytest.mark.parametrize(
    "headers",
    [
        b"".join(b"X-Flood-%d: y\r\n" % i for i in range(150)),
        b"X-Long: " + b"a" * 70_000 + b"\r\n",
    ],
    ids=["150-headers", "70k-header-line"],
)
def test_header_floods_get_a_plain_431_and_no_traceback(gateway, bystander, headers):
    response = exchange(gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert response.startswith(b"HTTP/1.1 431 ")
    acked_quickly(bystander, "calm")
    assert "Traceback" not in gateway.log()


def chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def polling_sid(gateway: Gateway, source: str = ATTACKER) -> str:
    response = exchange(
        gateway,
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        source,
    )
    body = response.partition(b"\r\n\r\n")[2]
    assert body.startswith(b"0"), response
    return json.loads(body[1:])["sid"]


@pytest.mark.parametrize("profile", ["web-role"])
def test_a_chunked_post_over_max_message_bytes_gets_413_too_large(gateway, bystander):
    sid = polling_sid(gateway)
    head = f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n".encode()
    head += b"Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
    response = exchange(gateway, head + chunked(b"4" + b"x" * (2 * MAX_BYTES)))
    assert refusal_code(response) == (413, "too_large")
    acked_quickly(bystander, "calm")


@pytest.mark.parametrize("profile", ["web-role"])
def test_a_chunked_post_under_the_limit_is_delivered_not_dropped(gateway):
    sid = polling_sid(gateway)
    head = f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n".encode()
    head += (
        b"Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    assert exchange(gateway, head + chunked(b"40", size=1)).startswith(b"HTTP/1.1 200")
    poll = (
        f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answer = exchange(gateway, poll.encode()).partition(b"\r\n\r\n")[2]
    assert answer.startswith(b"40"), answer  # the namespace connect in the chunked body arrived


def test_connections_past_the_per_address_cap_get_429_too_many_connections(gateway, bystander):
    pids = worker_pids(gateway)
    held = []
    for _ in range(CAP):
        s = attacker_socket(gateway)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        held.append(s)
    try:
        response = exchange(gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert refusal_code(response) == (429, "too_many_connections")
        assert b"Connection: close" in response
        acked_quickly(bystander, "calm")  # another address is not counted
    finally:
        for s in held:
            s.close()
    wait_for(
        lambda: exchange(
            gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ).startswith(b"HTTP/1.1 200")
    )
    assert worker_pids(gateway) == pids


def test_sessions_past_the_per_address_cap_get_429_and_ending_one_frees_its_place(
    gateway, bystander, profile
):
    sids = [polling_sid(gateway) for _ in range(CAP)]
    response = exchange(
        gateway, b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert refusal_code(response) == (429, "too_many_sessions")
    if profile == "worker-role":
        status, body = websocket_attempt_from_attacker(gateway)
        assert (status, json.loads(body)["code"]) == (429, "too_many_sessions")
    acked_quickly(bystander, "calm")
    # A session that ends (the client's close packet) gives its place back.
    close = f"POST /socket.io/?EIO=4&transport=polling&sid={sids[0]} HTTP/1.1\r\nHost: x\r\n"
    close += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 1\r\nConnection: close\r\n\r\n1"
    assert exchange(gateway, close.encode()).startswith(b"HTTP/1.1 200")
    polling_sid(gateway)


def websocket_attempt_from_attacker(gateway: Gateway) -> tuple[int, str]:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head, _, body = exchange(gateway, request.encode()).partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def test_sessions_past_the_global_cap_get_503_server_full(start_gateway, profile):
    gateway = start_gateway(GATEWAY_PROFILE=profile, GATEWAY_MAX_SESSIONS="3", **SMALL)
    user = ChatUser(gateway.url, transports=TRANSPORTS[profile], name="first")
    try:
        assert user.join("calm")["ok"]
        polling_sid(gateway)
        polling_sid(gateway, source="127.0.0.3")
        status, code = refusal_code(
            exchange(
                gateway,
                b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                source="127.0.0.4",
            )
        )
        assert (status, code) == (503, "server_full")
        if profile == "worker-role":
            assert websocket_attempt(gateway.url, "EIO=4&transport=websocket")[0] == 503
        acked_quickly(user, "calm")  # the sessions already open carry on
    finally:
        user.close()


def test_running_out_of_file_descriptors_warns_once_and_recovers(start_gateway, tmp_path):
    """With `ulimit -n 100`, 200 slowloris connections use up the worker's descriptors."""
    gateway = start_gateway(
        command=f"ulimit -n 100 && {procfile_command()}", GATEWAY_PROFILE="worker-role", **SMALL
    )
    pids = worker_pids(gateway)
    bystander = ChatUser(gateway.url, transports=["websocket"], name="bystander")
    assert bystander.join("calm")["ok"]
    attackers = []
    for _ in range(200):
        s = attacker_socket(gateway)  # the kernel completes the handshake; accept() is what fails
        s.sendall(b"GET /he")
        attackers.append(s)
    try:
        wait_for(lambda: "out of file descriptors" in gateway.log(), seconds=10)
        acked_quickly(bystander, "calm")  # a connection already open is not held up
        # Once the header timeout has closed the slow ones, the worker accepts again by itself.
        user = ChatUser(gateway.url, transports=["websocket"], name="later")
        try:
            assert user.join("calm")["ok"]
            acked_quickly(user, "calm")
        finally:
            user.close()
    finally:
        for s in attackers:
            s.close()
        bystander.close()
    log = gateway.log()
    assert log.count("out of file descriptors") == 1
    assert "Traceback" not in log
    assert worker_pids(gateway) == pids
