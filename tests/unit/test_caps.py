"""The caps' pure decisions: counting by address, session caps, the connection cap, chunked bodies."""

from __future__ import annotations

import io

import pytest

from config import load_profile
from ops.address import AddressCounts, ConnectionSlot, behind_proxies
from transports import classify
from transports.caps import SessionCaps
from transports.gate import checked_payload, connection_refusal, refusal

CAPPED = load_profile(
    "worker-role",
    environ={},
    settings={"max_sessions_per_address": 2, "max_sessions": 3, "max_connections_per_address": 2},
)
UNCAPPED = load_profile(
    "worker-role",
    environ={},
    settings={"max_sessions_per_address": 0, "max_sessions": 0, "max_connections_per_address": 0},
)


def handshake(address: str = "203.0.113.7", **headers: str) -> dict:
    return {
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": "EIO=4&transport=polling",
        "REQUEST_METHOD": "GET",
        "REMOTE_ADDR": address,
        **headers,
    }


def test_defaults_let_a_whole_office_behind_one_nat_in():
    profile = load_profile("worker-role", environ={})
    assert profile.max_connections_per_address >= 200
    assert profile.max_sessions_per_address >= 200
    assert 0 < profile.header_timeout <= 20


def test_address_counts_add_and_remove_to_nothing():
    counts = AddressCounts()
    assert counts.add("a") == 1 and counts.add("a") == 2 and counts.add("b") == 1
    counts.remove("a")
    counts.remove("a")
    counts.remove("a")  # one too many never goes negative
    assert counts["a"] == 0 and counts["b"] == 1 and len(counts) == 1


@pytest.mark.parametrize(
    ("hops", "forwarded", "counted"),
    [
        (1, "", "127.0.0.1"),
        (1, "198.51.100.1", "198.51.100.1"),  # the client the one trusted proxy names
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # not what the client wrote itself
        (0, "198.51.100.1", "127.0.0.1"),  # no proxy trusted: the peer
    ],
)
def test_the_address_counted_is_the_one_proxyfix_trusts(hops, forwarded, counted):
    """The connection cap counts what ProxyFix (behind_proxies) says, as the log lines and session caps do."""
    seen = []

    def app(environ: dict, start_response: object) -> list:
        slot = ConnectionSlot()
        slot.claim(environ)
        seen.append(slot.address)
        slot.release()
        return []

    environ = {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http"}
    if forwarded:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    behind_proxies(app, hops)(environ, lambda *a: None)
    assert seen == [counted]


def slot_ranked(rank: int) -> ConnectionSlot:
    slot = ConnectionSlot()
    slot.address, slot.rank = "x", rank
    return slot


def test_sessions_past_the_per_address_cap_are_refused_and_an_end_gives_the_place_back():
    caps = SessionCaps(CAPPED)
    caps.opened("s1", handshake())
    caps.opened("s2", handshake())
    assert caps.refusal("203.0.113.7").code == "too_many_sessions"
    assert caps.refusal("198.51.100.1") is None
    caps.closed("s1")
    caps.closed("s1")  # ending twice counts once
    assert caps.refusal("203.0.113.7") is None
    assert caps.held_by("203.0.113.7") == 1


def test_sessions_past_the_global_cap_are_refused_with_server_full():
    caps = SessionCaps(CAPPED)
    for i, address in enumerate(["a", "b", "c"]):
        caps.opened(f"s{i}", handshake(address))
    refused = caps.refusal("d")
    assert refused.code == "server_full" and refused.status.startswith("503")


def test_zero_means_no_cap():
    caps = SessionCaps(UNCAPPED)
    for i in range(1000):
        caps.opened(f"s{i}", handshake())
    assert caps.refusal("203.0.113.7") is None
    assert connection_refusal(slot_ranked(10_000), {}, UNCAPPED) is None


def test_the_gate_caps_only_new_sessions():
    caps = SessionCaps(CAPPED)
    caps.opened("s1", handshake())
    caps.opened("s2", handshake())
    new = handshake()
    assert refusal(new, classify(new), CAPPED, caps).code == "too_many_sessions"
    live = handshake(QUERY_STRING="EIO=4&transport=polling&sid=s1")
    live["QUERY_STRING"] = "EIO=4&transport=polling&sid=s1"
    assert refusal(live, classify(live), CAPPED, caps) is None


def test_a_connection_past_the_per_address_cap_is_refused_with_429():
    assert connection_refusal(slot_ranked(2), {}, CAPPED) is None
    refused = connection_refusal(slot_ranked(3), {}, CAPPED)
    assert refused.code == "too_many_connections" and refused.status.startswith("429")


def chunked_post(body: bytes) -> dict:
    return {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body), "REQUEST_METHOD": "POST"}


def test_a_chunked_body_is_read_no_further_than_the_limit_plus_one():
    environ = chunked_post(b"4" + b"x" * 5000)
    stream = environ["wsgi.input"]
    _, refused = checked_payload(environ, 1024)
    assert refused.code == "too_large"
    assert stream.tell() == 1025


def test_a_chunked_body_under_the_limit_is_passed_on_with_its_length():
    environ = chunked_post(b"40")
    assert checked_payload(environ, 1024) == (b"40", None)
    assert environ["CONTENT_LENGTH"] == "2" and environ["wsgi.input"].read() == b"40"
