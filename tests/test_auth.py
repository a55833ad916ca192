"""Signed identities over a real gunicorn gateway (the Procfile's web: line) with real clients."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
import socketio
from chat_client import wait_for
from clients import api_request
from conftest import PRESENCE_GRACE_S, Gateway, procfile_command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth import mint

SECRET = "test-secret-" + "x" * 32
JWT = {
    "GATEWAY_AUTH": "jwt",
    "GATEWAY_AUTH_SECRET": SECRET,
    "GATEWAY_AUTH_AUDIENCE": "rolegate-tests",
    "GATEWAY_MESSAGES_PER_SECOND": "1000",
    "GATEWAY_MESSAGE_BURST": "1000",
}


def token(sub: str = "alice", ttl: float = 600, **claims: object) -> str:
    return mint(SECRET, sub, ttl=ttl, audience="rolegate-tests", **claims)


def new_room(prefix: str = "room") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Client:
    """python-socketio's client with the token in the Socket.IO connect's ``auth``."""

    def __init__(self, url: str, auth: dict | None, transports: list[str] | None = None) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.connect_errors: list[object] = []
        self.errors: list[dict] = []
        self.messages: list[dict] = []
        self.presence: list[dict] = []  # the room's changes: {room, joined} or {room, left}
        self.disconnected = threading.Event()
        self.sio.on("connect_error", self.connect_errors.append)
        self.sio.on("error", self.errors.append)
        self.sio.on("message", self.messages.append)
        self.sio.on("presence", self.presence.append)
        self.sio.on("disconnect", lambda *reason: self.disconnected.set())
        self.sio.connect(url, auth=auth, transports=transports or ["websocket"], wait_timeout=10)

    def call(self, event: str, data: object) -> dict:
        return self.sio.call(event, data, timeout=10)

    def join(self, room: str, name: str = "someone", since: int | None = None) -> dict:
        payload: dict = {"room": room, "name": name}
        if since is not None:
            payload["since"] = since
        return self.call("join", payload)

    def say(self, room: str, text: str) -> dict:
        return self.call("message", {"room": room, "text": text, "client_id": uuid.uuid4().hex})

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(procfile_command(), JWT, tmp_path_factory.mktemp("auth"))
    yield server
    server.stop()


@pytest.fixture
def connect(gateway: Gateway) -> Iterator:
    made: list[Client] = []

    def make(auth: dict | None, transports: list[str] | None = None, url: str | None = None) -> Client:
        client = Client(url or gateway.url, auth, transports)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def refusal(url: str, auth: dict | None, transports: list[str]) -> dict:
    """The ``connect_error`` data a refused connect gets."""
    client = socketio.Client(reconnection=False)
    got: list[object] = []
    client.on("connect_error", got.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, auth=auth, transports=transports, wait_timeout=10)
    assert got, "no connect_error"
    return got[0]["data"] if isinstance(got[0], dict) and "data" in got[0] else got[0]


def rs256_token(key, **claims: object) -> str:  # noqa: ANN001
    return jwt.encode({"sub": "rsa-user", "exp": int(time.time()) + 600, **claims}, key, algorithm="RS256")


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
@pytest.mark.parametrize(
    ("auth", "code"),
    [
        (None, "unauthorized"),
        ({}, "unauthorized"),
        ({"token": "not.a.jwt"}, "unauthorized"),
        ({"token": mint("forged-" + "y" * 32, "alice", audience="rolegate-tests")}, "unauthorized"),
        ({"token": mint(SECRET, "alice", audience="somebody-else")}, "unauthorized"),
        ({"token": token(ttl=-60)}, "token_expired"),
    ],
    ids=["no-auth", "no-token", "malformed", "forged", "wrong-audience", "expired"],
)
def test_a_bad_token_gets_connect_error_with_its_code(gateway, auth, code, transports):
    data = refusal(gateway.url, auth, transports)
    assert data["code"] == code and data["message"]
    assert SECRET not in gateway.log()


def test_refusals_are_logged_with_the_address_and_counted(gateway):
    refusal(gateway.url, {"token": token(ttl=-60)}, ["polling"])
    wait_for(lambda: "refused connect from 127.0.0.1" in gateway.log())
    import urllib.request

    with urllib.request.urlopen(gateway.url + "/metrics") as response:
        text = response.read().decode()
    assert 'rolegate_auth_refused_total{code="token_expired"}' in text


def test_a_good_token_connects_and_the_joins_name_is_ignored(connect):
    room = new_room()
    alice = connect({"token": token("alice", name="Alice")})
    ack = alice.join(room, name="Mallory")
    assert ack["ok"] and ack["members"] == ["Alice"]
    assert alice.call("join", {"room": room})["ok"]  # with jwt the name may be left out
    assert alice.say(room, "hi")["ok"]
    wait_for(lambda: alice.messages)
    assert alice.messages[0]["name"] == "Alice" and alice.messages[0]["sub"] == "alice"


def test_two_tabs_of_one_user_are_one_member(connect):
    room = new_room()
    tab1 = connect({"token": token("bob", name="Bob")})
    tab2 = connect({"token": token("bob", name="Bob")}, transports=["polling"])
    carol = connect({"token": token("carol", name="Carol")})
    tab1.join(room)
    tab2.join(room)
    assert carol.join(room)["members"] == ["Bob", "Carol"]
    tab2.close()
    time.sleep(PRESENCE_GRACE_S + 0.5)  # the closed tab's grace is over
    tab1.say(room, "still here")
    wait_for(lambda: any(m["text"] == "still here" for m in carol.messages))
    assert {"room": room, "left": "Bob"} not in carol.presence, "Bob is still in the room in his other tab"
    assert carol.join(room)["members"] == ["Bob", "Carol"]
    tab1.close()
    wait_for(lambda: {"room": room, "left": "Bob"} in carol.presence)


def test_a_room_the_token_does_not_allow_is_forbidden_history_included(connect):
    team, other = new_room("team"), new_room("ops")
    insider = connect({"token": token("dave")})
    insider.join(other)
    insider.say(other, "secret plans")
    limited = connect({"token": token("erin", rooms=["team-*"])})
    assert limited.join(team)["ok"]
    for payload in ({"room": other}, {"room": other, "since": 0}):
        ack = limited.call("join", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
        assert "secret plans" not in str(ack)
    ack = limited.call("message", {"room": other, "text": "x", "client_id": "c1"})
    assert ack["error"]["code"] == "not_in_room"


def test_rs256_tokens_verify_with_the_public_key(start_gateway, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "public.pem").write_bytes(pem)
    server = start_gateway(GATEWAY_AUTH="jwt", GATEWAY_AUTH_PUBLIC_KEY=str(tmp_path / "public.pem"))
    client = Client(server.url, {"token": rs256_token(key, name="Rita")}, ["polling"])
    try:
        assert client.join(new_room())["members"] == ["Rita"]
    finally:
        client.close()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refusal(server.url, {"token": rs256_token(other)}, ["websocket"])["code"] == "unauthorized"
    # The public key is not an HMAC secret: an HS256 token "signed" with it is refused.
    forged = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "p" * 40, algorithm="HS256")
    assert refusal(server.url, {"token": forged}, ["polling"])["code"] == "unauthorized"


def test_jwt_without_a_key_does_not_start(start_gateway):
    with pytest.raises(RuntimeError, match="GATEWAY_AUTH_SECRET"):
        start_gateway(GATEWAY_AUTH="jwt")


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_a_connection_whose_token_expires_is_told_and_disconnected(connect, transports):
    room = new_room()
    client = connect({"token": token("frank", ttl=2)}, transports=transports)
    assert client.join(room)["ok"]
    assert client.disconnected.wait(8), "not disconnected when the token expired"
    assert [e["code"] for e in client.errors] == ["token_expired"]
    again = connect({"token": token("frank", ttl=600)}, transports=transports)
    assert again.join(room)["ok"]


# --- who is speaking: a message keeps its sender's sub, and a client_id is scoped to it -----------


def send(client: Client, room: str, text: str, client_id: str) -> dict:
    return client.call("message", {"room": room, "text": text, "client_id": client_id})


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_two_users_with_one_name_do_not_share_client_ids(connect, transports):
    room = new_room()
    first = connect({"token": token("sam-1", name="Sam")}, transports=transports)
    second = connect({"token": token("sam-2", name="Sam")}, transports=transports)
    assert first.join(room)["ok"] and second.join(room)["members"] == ["Sam"]
    stored = send(first, room, "from the first Sam", "shared-id")
    assert stored["ok"] is True
    taken = send(second, room, "from the second Sam", "shared-id")
    assert taken["ok"] is False and taken["error"]["code"] == "client_id_taken"
    # The first's message stays, and is still theirs to resend.
    again = send(first, room, "from the first Sam", "shared-id")
    assert again == stored
    history = second.join(room, since=0)["history"]
    assert [(m["text"], m["name"], m["sub"]) for m in history] == [("from the first Sam", "Sam", "sam-1")]
    wait_for(lambda: first.messages)
    assert [m["sub"] for m in first.messages] == ["sam-1"]


def test_one_user_whose_name_changed_between_tokens_gets_their_resend_acked(connect):
    room = new_room()
    before = connect({"token": token("rename-me", name="Old Name")})
    watcher = connect({"token": token("watcher", name="Watcher")})
    assert before.join(room)["ok"] and watcher.join(room)["ok"]
    stored = send(before, room, "sent once", "resend-1")
    assert stored["ok"] is True
    before.close()
    after = connect({"token": token("rename-me", name="New Name")}, transports=["polling"])
    assert after.join(room)["ok"]
    again = send(after, room, "sent once", "resend-1")
    assert again == stored  # a resend: the same id, seq and ts, not client_id_taken
    history = after.join(room, since=0)["history"]
    assert [(m["id"], m["name"], m["sub"]) for m in history] == [(stored["id"], "Old Name", "rename-me")]
    time.sleep(0.5)
    assert [m["id"] for m in watcher.messages] == [stored["id"]]  # a resend is not broadcast again


def test_a_messages_sub_is_in_the_join_replay_and_the_api(start_gateway):

    key = "api-key-" + "s" * 24
    server = start_gateway(GATEWAY_AUTH="jwt", GATEWAY_AUTH_SECRET=SECRET, GATEWAY_API_KEY=key)

    def api(method: str, path: str, body: object = None) -> tuple[int, dict]:
        return api_request(server.url, method, path, body, key)

    room = new_room()
    mint_token = mint(SECRET, "user-42", ttl=600, name="Quinn")
    quinn = Client(server.url, {"token": mint_token})
    try:
        assert quinn.join(room)["ok"]
        ack = send(quinn, room, "hello", "q-1")
        wait_for(lambda: quinn.messages)
        assert quinn.messages[0]["sub"] == "user-42" and quinn.messages[0]["id"] == ack["id"]
        status, posted = api(
            "POST", f"/api/rooms/{room}/messages", {"name": "Bot", "text": "hi", "client_id": "b-1"}
        )
        assert status == 201 and "sub" not in posted  # the API posts with no sub
        # The API is not the user: reusing the user's client_id is refused, not answered with their message.
        status, taken = api(
            "POST", f"/api/rooms/{room}/messages", {"name": "Quinn", "text": "x", "client_id": "q-1"}
        )
        assert (status, taken["code"]) == (409, "client_id_taken")
        for history in (quinn.join(room, since=0)["history"], quinn.join(room)["history"]):
            assert [(m["text"], m.get("sub")) for m in history] == [("hello", "user-42"), ("hi", None)]
        status, page = api("GET", f"/api/rooms/{room}/messages?since=0")
        assert status == 200
        assert [(m["text"], m.get("sub")) for m in page["messages"]] == [("hello", "user-42"), ("hi", None)]
        assert page["messages"][0] == quinn.messages[0]  # stored and live: one shape
    finally:
        quinn.close()


# --- auth = none: typed names, unique in a room ------------------------------------------------


@pytest.fixture(scope="module")
def open_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(procfile_command(), {}, tmp_path_factory.mktemp("none"))
    yield server
    server.stop()


def test_with_auth_none_a_look_alike_of_a_members_name_is_taken(connect, open_gateway):
    room = new_room()
    ann = connect(None, url=open_gateway.url)
    assert ann.join(room, name="Ann")["ok"]
    for look_alike in ("ann", "ANN", "ａｎｎ", "ＡＮＮ"):
        other = connect(None, url=open_gateway.url)
        ack = other.join(room, name=look_alike)
        assert ack["ok"] is False and ack["error"]["code"] == "name_taken", look_alike
    assert connect(None, url=open_gateway.url).join(new_room(), name="ann")["ok"]  # another room
    assert ann.join(room, name="Ann")["ok"]  # joining again under one's own name
    # The exact same name is the same member (a second tab, or a reconnect before the old one is gone).
    for same in (" Ann ", "Ａｎｎ"):  # full-width letters are normalised (NFKC) to the same name
        assert connect(None, url=open_gateway.url).join(room, name=same)["members"] == ["Ann"]
    fullwidth = connect(None, url=open_gateway.url).join(room, name="Ｂｅｎ")
    assert fullwidth["ok"] and fullwidth["members"] == ["Ann", "Ben"]  # NFKC-normalised


def node_connect(url: str, token_text: str, transport: str) -> dict:
    import json
    import subprocess
    from pathlib import Path

    script = Path(__file__).with_name("node") / "auth.js"
    done = subprocess.run(
        ["node", str(script), url, token_text, transport], capture_output=True, text=True, timeout=30
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_node_client_gets_connect_error_data_and_connects_with_a_token(gateway, transport):
    refused = node_connect(gateway.url, token(ttl=-60), transport)
    assert refused["connected"] is False and refused["error"]["data"]["code"] == "token_expired"
    assert node_connect(gateway.url, "", transport)["error"]["data"]["code"] == "unauthorized"
    accepted = node_connect(gateway.url, token("nina", name="Nina"), transport)
    assert accepted["connected"] is True and "Nina" in accepted["members"]
