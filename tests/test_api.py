"""The server API for the application's backend: every endpoint with and without the key, on two
gunicorn processes sharing one Redis, and a message posted through it reaching clients."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from clients import api_request
from conftest import Gateway, RedisServer, procfile_command
from openapi_spec_validator import validate
from test_auth import SECRET, Client, new_room, token

API_KEY = "api-key-" + "k" * 24
JWT = {
    "GATEWAY_AUTH": "jwt",
    "GATEWAY_AUTH_SECRET": SECRET,
    "GATEWAY_AUTH_AUDIENCE": "rolegate-tests",
    "GATEWAY_API_KEY": API_KEY,
}


def api(url: str, method: str, path: str, body: object = None, key: str | None = API_KEY) -> tuple[int, dict]:
    return api_request(url, method, path, body, key)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Gateway]]:
    """Two gateway processes on one Redis (history, membership and broadcasts shared)."""
    tmp = tmp_path_factory.mktemp("api")
    redis = RedisServer(tmp)
    env = {**JWT, "GATEWAY_DATABASE_URL": redis.url}
    first, second = Gateway(procfile_command(), env, tmp), Gateway(procfile_command(), env, tmp)
    yield first, second
    first.stop()
    second.stop()
    redis.stop()


ENDPOINTS = [
    ("POST", "/api/rooms/{room}/messages", {"name": "Bot", "text": "hi"}),
    ("GET", "/api/rooms/{room}/messages?since=0", None),
    ("GET", "/api/rooms/{room}/members", None),
    ("POST", "/api/users/nobody/disconnect", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_the_key(pair, method, path, body):
    first, _ = pair
    path = path.format(room=new_room())
    for key in (None, "wrong-" + "k" * 26, API_KEY[:-1]):
        status, answer = api(first.url, method, path, body, key=key)
        assert status == 401 and answer["code"] == "unauthorized", key
    status, _ = api(first.url, method, path, body)
    assert status in (200, 201, 202)
    assert API_KEY not in first.log()


@pytest.mark.parametrize(("method", "path", "body"), [*ENDPOINTS, ("GET", "/api/openapi.json", None)])
def test_the_api_is_404_when_no_key_is_set(start_gateway, method, path, body):
    server = start_gateway()
    status, answer = api(server.url, method, path.format(room="lobby"), body)
    assert status == 404 and answer["code"] == "not_found" and "GATEWAY_API_KEY" in answer["message"]


def test_a_posted_message_reaches_clients_on_both_processes_and_is_stored_like_a_users(pair):
    first, second = pair
    room = new_room()
    here = Client(first.url, {"token": token("ann", name="Ann")})
    there = Client(second.url, {"token": token("bob", name="Bob")}, ["polling"])
    try:
        here.join(room)
        there.join(room)
        status, stored = api(
            first.url,
            "POST",
            f"/api/rooms/{room}/messages",
            {"name": "Deploy bot", "text": "v2 is out", "client_id": "deploy-1"},
        )
        assert status == 201
        assert set(stored) == {
            "id",
            "room",
            "name",
            "text",
            "ts",
            "client_id",
            "seq",
        }  # no sub: the API has none
        assert (stored["room"], stored["name"], stored["text"], stored["client_id"]) == (
            room,
            "Deploy bot",
            "v2 is out",
            "deploy-1",
        )
        from chat_client import wait_for

        wait_for(lambda: here.messages and there.messages)
        assert here.messages == there.messages == [stored]
        # Idempotent on client_id, through either process.
        status, again = api(
            second.url,
            "POST",
            f"/api/rooms/{room}/messages",
            {"name": "Deploy bot", "text": "v2 is out", "client_id": "deploy-1"},
        )
        assert (status, again) == (200, stored)
        # A user's message and the API's share one history and one id sequence.
        mine = here.say(room, "nice")
        assert mine["id"] > stored["id"]
        status, members = api(second.url, "GET", f"/api/rooms/{room}/members")
        assert (status, members) == (200, {"members": ["Ann", "Bob"]})
    finally:
        here.close()
        there.close()


def test_read_messages_with_since_and_limit(pair):
    first, second = pair
    room = new_room()
    ids = [
        api(first.url, "POST", f"/api/rooms/{room}/messages", {"name": "Bot", "text": f"m{i}"})[1]["id"]
        for i in range(5)
    ]
    status, page = api(second.url, "GET", f"/api/rooms/{room}/messages?since={ids[0]}&limit=2")
    assert status == 200 and [m["text"] for m in page["messages"]] == ["m1", "m2"] and page["truncated"]
    status, rest = api(second.url, "GET", f"/api/rooms/{room}/messages?since={ids[2]}")
    assert [m["text"] for m in rest["messages"]] == ["m3", "m4"] and rest["truncated"] is False


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/rooms/r/messages", {"name": "Bot"}, 400, "invalid_payload"),
        ("/api/rooms/r/messages", {"text": "hi"}, 400, "invalid_name"),
        ("/api/rooms/r/messages", {"name": "Bot", "text": "x" * 2001}, 413, "text_too_long"),
        ("/api/rooms/r/messages", {"name": "Bot", "text": "hi", "client_id": 7}, 400, "invalid_payload"),
        ("/api/rooms/r/messages", ["not", "an", "object"], 400, "invalid_payload"),
        ("/api/rooms/" + "r" * 65 + "/messages", {"name": "Bot", "text": "hi"}, 400, "invalid_room"),
        ("/api/rooms/r/messages?since=-1", None, 400, "invalid_payload"),
        ("/api/rooms/r/messages?limit=zero", None, 400, "invalid_payload"),
        ("/api/nothing-here", None, 404, "not_found"),
    ],
)
def test_bad_requests_get_a_code(pair, path, body, status, code):
    method = "POST" if body is not None else "GET"
    got_status, answer = api(pair[0].url, method, path, body)
    assert (got_status, answer["code"]) == (status, code) and answer["message"]


def test_disconnect_closes_every_connection_of_the_user_on_every_process(pair):
    first, second = pair
    room = new_room()
    tabs = [
        Client(first.url, {"token": token("mallory")}),
        Client(second.url, {"token": token("mallory")}, ["polling"]),
    ]
    bystander = Client(second.url, {"token": token("trent")})
    try:
        for client in (*tabs, bystander):
            client.join(room)
        status, answer = api(first.url, "POST", "/api/users/mallory/disconnect")
        assert (status, answer) == (202, {"sub": "mallory", "disconnecting": True})
        for tab in tabs:
            assert tab.disconnected.wait(10)
            assert [e["code"] for e in tab.errors] == ["disconnected_by_server"]
        assert not bystander.disconnected.is_set() and bystander.say(room, "still here")["ok"]
        from chat_client import wait_for

        wait_for(lambda: api(second.url, "GET", f"/api/rooms/{room}/members")[1]["members"] == ["trent"])
    finally:
        for client in (*tabs, bystander):
            client.close()


def test_an_offline_client_gets_an_api_message_by_since(pair):
    first, second = pair
    room = new_room()
    client = Client(second.url, {"token": token("olga")})
    last = client.join(room)
    client.say(room, "before going offline")
    seen = client.join(room)["history"][-1]["id"]
    client.close()
    api(first.url, "POST", f"/api/rooms/{room}/messages", {"name": "Bot", "text": "while you were away"})
    back = Client(first.url, {"token": token("olga")}, ["polling"])
    try:
        replay = back.join(room, since=seen)
        assert [m["text"] for m in replay["history"]] == ["while you were away"]
        assert last["ok"]
    finally:
        back.close()


def test_the_openapi_document_is_valid_and_lists_every_endpoint(pair):
    status, spec = api(pair[0].url, "GET", "/api/openapi.json", key=None)
    assert status == 200
    validate(spec)
    assert set(spec["paths"]) == {
        "/api/rooms/{room}/messages",
        "/api/rooms/{room}/members",
        "/api/users/{sub}/disconnect",
    }


def test_the_api_passes_the_gate_with_a_foreign_origin_header(pair):
    """The gate guards /socket.io/ only: a backend's request (any Origin) reaches the API."""
    request = urllib.request.Request(pair[0].url + f"/api/rooms/{uuid.uuid4().hex[:8]}/members")
    request.add_header("Authorization", f"Bearer {API_KEY}")
    request.add_header("Origin", "https://elsewhere.example")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
