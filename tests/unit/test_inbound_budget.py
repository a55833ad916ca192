"""The inbound budget (ops/fairness.py) and the gate's 429 for a polling session over it."""

from __future__ import annotations

import io
import json
import timeit

from config import load_profile
from ops.fairness import InboundBudget, budget_factory
from transports.gate import TransportGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def budget(packets: float = 10, nbytes: float = 1000, packet_burst: int = 20, byte_burst: int = 2000):
    clock = Clock()
    return InboundBudget(packets, nbytes, packet_burst, byte_burst, clock), clock


def test_a_burst_passes_then_the_next_packet_is_over_budget():
    counter, _ = budget()
    assert all(counter.take_packet() for _ in range(20))
    assert not counter.take_packet()
    assert counter.reason() == "flood: more than 10 Engine.IO packets a second"


def test_time_earns_packets_back_at_the_rate_and_never_past_the_burst():
    counter, clock = budget()
    for _ in range(20):
        counter.take_packet()
    clock.now += 0.5  # 5 packets earned
    assert all(counter.take_packet() for _ in range(5))
    assert not counter.take_packet()
    clock.now += 3600
    # Refilled only when it runs dry, the charge that found it dry rides along: one over the burst.
    assert sum(counter.take_packet() for _ in range(100)) == 21


def test_bytes_have_their_own_bucket():
    counter, clock = budget()
    assert counter.take_bytes(2000)
    assert not counter.take_bytes(1)
    assert counter.reason() == "flood: more than 1000 bytes a second"
    clock.now += 1
    assert counter.take_bytes(999)


def test_a_refused_request_is_not_charged():
    counter, clock = budget()
    assert counter.take(15, 100)
    assert not counter.take(10, 100)
    assert counter.reason().startswith("flood: more than 10 Engine.IO packets")
    assert counter.take(5, 100)  # what was left is still there
    assert not counter.full()
    clock.now += 10
    assert counter.full()


def test_a_steady_client_under_the_rate_is_never_refused():
    counter, clock = budget(packets=100, packet_burst=100)
    for _ in range(10_000):  # 10 s at 99 packets a second
        clock.now += 1 / 99
        assert counter.take_packet()


def test_the_default_budget_is_far_above_the_benchmark_client():
    profile = load_profile("worker-role", environ={})
    counter = budget_factory(profile)()
    # bench/load.js: ~250 round trips a second per client, one packet of ~40 bytes each.
    assert counter.packets_per_second >= 4 * 250
    assert counter.bytes_per_second >= 100 * 250 * 40
    assert counter.byte_burst >= profile.max_message_bytes


def test_a_charge_costs_well_under_a_microsecond():
    counter = InboundBudget(1e12, 1e12, 10**15, 10**15)
    seconds = min(timeit.repeat(counter.take_packet, number=100_000, repeat=5)) / 100_000
    assert seconds < 1e-6, seconds


def polling_post(sid: str, body: bytes) -> dict:
    return {
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": f"EIO=4&transport=polling&sid={sid}",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_HOST": "chat.example.com",
    }


def test_a_polling_session_over_its_budget_gets_429_flood_and_others_pass():
    profile = load_profile(
        "web-role", environ={}, settings={"inbound_packets_per_second": 1, "inbound_packet_burst": 3}
    )
    gate = TransportGate(lambda environ, start: [b"ok"], profile, "socket.io")
    answered: dict = {}

    def start_response(status: str, headers: list) -> None:
        answered.update(status=status, headers=dict(headers))

    assert gate(polling_post("a", b'42["x"]\x1e42["y"]'), start_response) == [b"ok"]
    assert gate(polling_post("a", b'42["z"]'), start_response) == [b"ok"]
    body = json.loads(b"".join(gate(polling_post("a", b'42["z"]'), start_response)))
    assert answered["status"] == "429 TOO MANY REQUESTS"
    assert body["code"] == "flood"
    assert body["message"].startswith("flood: more than 1 Engine.IO packets a second")
    assert gate(polling_post("b", b'42["z"]'), start_response) == [b"ok"]  # another session
