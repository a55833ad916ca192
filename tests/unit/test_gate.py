"""The gate's decisions, from request headers alone: no server, no socket (transports/gate.py)."""

from __future__ import annotations

import json

import pytest

from config import load_profile
from ops import shutdown
from transports import POLLING, WEBSOCKET, classify
from transports.gate import TransportGate, refusal

WEB = load_profile("web-role", environ={})
WORKER = load_profile("worker-role", environ={})
KEY = {"HTTP_SEC_WEBSOCKET_VERSION": "13", "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ=="}


def request(query: str = "EIO=4&transport=polling", **headers: str) -> dict:
    return {
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": query,
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": "chat.example.com",
        "wsgi.url_scheme": "https",
        **headers,
    }


def websocket(query: str = "EIO=4&transport=websocket", **headers: str) -> dict:
    return request(query, HTTP_UPGRADE="websocket", **KEY, **headers)


def code(environ: dict, profile=WORKER) -> str | None:  # noqa: ANN001
    refused = refusal(environ, classify(environ), profile)
    return refused.code if refused else None


def test_classify_reads_either_the_upgrade_header_or_the_query():
    assert classify(request()).transport is POLLING
    assert classify(request("EIO=4&transport=websocket")).transport is WEBSOCKET
    upgrade = classify(request("EIO=4&transport=polling&sid=abc", HTTP_UPGRADE="WebSocket"))
    assert upgrade.transport is WEBSOCKET and upgrade.is_upgrade and upgrade.sid == "abc"


def test_what_each_role_lets_through():
    assert code(request(), WEB) is None
    assert code(websocket(), WORKER) is None
    assert code(websocket("EIO=4&transport=websocket&sid=abc"), WORKER) is None


@pytest.mark.parametrize(
    ("environ", "profile", "expected"),
    [
        (websocket(), WEB, "transport_not_allowed"),
        (
            request("EIO=4&transport=polling&sid=s", HTTP_UPGRADE="websocket", **KEY),
            WEB,
            "transport_not_allowed",
        ),
        (request("EIO=4&transport=websocket"), WORKER, "no_upgrade_header"),
        (request("EIO=4&transport=websocket", HTTP_UPGRADE="websocket"), WORKER, "bad_handshake"),
        (request(HTTP_ORIGIN="https://evil.example"), WORKER, "origin_not_allowed"),
        (request(CONTENT_LENGTH="2000000", REQUEST_METHOD="POST"), WORKER, "too_large"),
        (request(CONTENT_LENGTH="lots", REQUEST_METHOD="POST"), WORKER, "malformed_payload"),
    ],
)
def test_each_refusal_has_its_code(environ, profile, expected):
    assert code(environ, profile) == expected


def test_an_upgrade_on_a_profile_that_offers_none():
    both_no_upgrade = load_profile("worker-role", environ={}, settings={"upgrade": False})
    assert code(websocket("EIO=4&transport=websocket&sid=abc"), both_no_upgrade) == "upgrade_not_offered"


def test_a_refused_websocket_says_whether_its_upgrade_header_came_through():
    refused = refusal(websocket(), classify(websocket()), WEB)
    assert refused.upgrade_header is True
    query_only = request("EIO=4&transport=websocket")
    assert refusal(query_only, classify(query_only), WEB).upgrade_header is False


def test_the_gateways_own_origin_and_listed_origins_pass():
    assert code(request(HTTP_ORIGIN="https://chat.example.com")) is None
    listed = load_profile(environ={"GATEWAY_ALLOWED_ORIGINS": "https://www.example.com"})
    assert code(request(HTTP_ORIGIN="https://www.example.com"), listed) is None
    assert code(request(HTTP_ORIGIN="https://www.example.com/"), listed) == "origin_not_allowed"


def test_new_sessions_are_refused_while_draining_but_live_ones_carry_on(monkeypatch):
    monkeypatch.setattr(shutdown, "DRAINING", type("Set", (), {"is_set": staticmethod(lambda: True)})())
    assert code(request()) == "shutting_down"
    assert code(request("EIO=4&transport=polling&sid=abc")) is None


def test_the_gate_answers_json_with_code_message_and_profile():
    passed = []
    gate = TransportGate(lambda environ, start: passed.append(environ) or [b"ok"], WEB, "socket.io")
    answered = {}

    def start_response(status: str, headers: list) -> None:
        answered.update(status=status, headers=dict(headers))

    body = json.loads(b"".join(gate(websocket(), start_response)))
    assert answered["status"] == "400 BAD REQUEST"
    assert answered["headers"]["Content-Type"] == "application/json"
    assert body["code"] == "transport_not_allowed" and body["profile"] == "web-role"
    assert "websocket is not allowed (transports: polling)" in body["message"]
    assert not passed
    assert gate(request(), start_response) == [b"ok"] and passed


@pytest.mark.parametrize(
    "query",
    [
        "",
        "EIO=4&transport=polling&t=PxYz&sid=abc",
        "transport=websocket&transport=polling",
        "%74ransport=websocket&sid=a%2Bb",
        "j&EIO=3",
        "j=0&&sid=",
        "name=two+words&x=%zz&=empty-name",
        "sid=%E2%82%AC&bad=%ff",
    ],
)
def test_the_gate_reads_the_query_as_python_engineio_does(query):
    from urllib.parse import parse_qs

    from transports import first_values

    assert first_values(query) == {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
