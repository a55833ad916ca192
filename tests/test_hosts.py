"""Simulated hosts: real nginx in front of real gateways, each with the profile that matches it.

(a) an IIS-like front that passes no WebSocket, (b) a front that cuts idle
requests (scaled down: 4 s instead of 30-60 s), (c) two gateway processes behind
one nginx that routes by the session id's instance tag, sharing Redis.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
import redis
import socketio
from chat_client import ChatUser, wait_for
from clients import node_policy_hello

from chat.stores.redis_history import PREFIX
from chat.stores.redis_rooms import HEARTBEAT_TTL

HELLO = "Hello back!"


def address(gateway) -> str:  # noqa: ANN001 (conftest.Gateway)
    return f"127.0.0.1:{gateway.port}"


def websocket_requests(front) -> list[str]:  # noqa: ANN001 (hosts.Nginx)
    return [line for line in front.access_log().splitlines() if "transport=websocket" in line]


def chat_round(users: list[ChatUser], room: str) -> None:
    """Everyone joins ``room`` and says one line; everyone must receive every line."""
    for user in users:
        assert user.join(room)["ok"] is True
    lines = [f"{user.name} says hi {uuid.uuid4().hex[:6]}" for user in users]
    for user, line in zip(users, lines, strict=True):
        assert user.say(room, line)["ok"] is True
    for user in users:
        wait_for(lambda user=user: set(lines) <= set(user.texts(room)))


# --- (a) an IIS-like front: HTTP/1.1 proxy that passes no Upgrade ----------------------


def test_iis_like_front_worker_role_falls_back_to_polling_within_3s(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    front = start_nginx("no-websocket.conf", gateway=address(gateway))

    page_like = node_policy_hello(front.url)
    assert page_like["connected"] is True, page_like
    assert page_like["transport"] == "polling"
    assert page_like["reply"] == HELLO
    assert page_like["seconds"] < 3
    attempts = websocket_requests(front)
    assert len(attempts) == 1 and '" 400 ' in attempts[0]
    assert "arrived without its Upgrade header: a proxy in front does not pass WebSocket" in gateway.log()

    # python-socketio has no WebSocket-first fallback; polling first, its upgrade fails, it stays and chats.
    users = [ChatUser(front.url, ["polling", "websocket"], name=n) for n in ("ann", "bob")]
    try:
        chat_round(users, "lobby")
        assert [u.client.transport() for u in users] == ["polling", "polling"]
    finally:
        for user in users:
            user.close()


def test_iis_like_front_web_role_makes_no_websocket_attempt(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="iis")
    front = start_nginx("no-websocket.conf", gateway=address(gateway))

    page_like = node_policy_hello(front.url)
    assert page_like["reply"] == HELLO and page_like["transport"] == "polling"
    users = [ChatUser(front.url, ["polling"], name=n) for n in ("ann", "bob")]
    try:
        chat_round(users, "lobby")
        # Checked before closing: a poll racing the client's own close may get 400 (its session is gone).
        assert set(front.statuses()) == {200}
    finally:
        for user in users:
            user.close()
    assert websocket_requests(front) == []


# --- (b) a front that cuts requests idle for 4 s (Heroku: 30 s, nginx and ALB: 60 s) ------


class Watched(ChatUser):
    """A chat user that records every disconnect."""

    def __init__(self, url: str, transports: list[str], name: str) -> None:
        super().__init__(url, transports, name)
        self.disconnects: list[str] = []
        self.client.on("disconnect", lambda reason="": self.disconnects.append(str(reason)))


def test_short_idle_front_never_cuts_a_long_poll_with_a_fitting_profile(start_gateway, start_nginx):
    gateway = start_gateway(GATEWAY_PROFILE="nginx", GATEWAY_HOST_IDLE_LIMIT="4", GATEWAY_PING_INTERVAL="3")
    front = start_nginx("websocket.conf", gateway=address(gateway), read_timeout="4s")
    polling = Watched(front.url, ["polling"], "ann")
    websocket = Watched(front.url, ["websocket"], "bob")
    sids = (polling.client.get_sid(), websocket.client.get_sid())
    try:
        time.sleep(10)  # two and a half of the front's idle limits, with nothing to say
        assert polling.disconnects == [] and websocket.disconnects == []
        assert (polling.client.get_sid(), websocket.client.get_sid()) == sids
        chat_round([polling, websocket], "lobby")
    finally:
        polling.close()
        websocket.close()
    assert 504 not in front.statuses()
    assert "timed out" not in front.error_log.read_text()


def test_short_idle_front_cuts_long_polls_when_the_ping_interval_does_not_fit(start_gateway, start_nginx):
    """What the host_idle_limit check prevents: without it, the front cuts every idle long-poll."""
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_PING_INTERVAL="6")
    front = start_nginx("websocket.conf", gateway=address(gateway), read_timeout="4s")
    polling = Watched(front.url, ["polling"], "ann")
    try:
        wait_for(lambda: polling.disconnects, seconds=10)
    finally:
        polling.close()
    assert 504 in front.statuses()
    assert "upstream timed out" in front.error_log.read_text()


# --- (c) two gateway processes behind one nginx, routed by the sid's instance tag -------


#: How the processes share: everything in Redis, or broadcasts through Redis with the history in one
#: SQLite file (the test's default; two processes on one machine can share it).
SHARING = {"redis-store": "GATEWAY_DATABASE_URL", "redis-queue-only": "GATEWAY_MESSAGE_QUEUE"}


def two_gateways(start_gateway, start_nginx, redis_server, sharing="redis-store"):  # noqa: ANN001, ANN201
    env = {SHARING[sharing]: redis_server.url, "GATEWAY_PROFILE": "nginx"}
    g1 = start_gateway(GATEWAY_INSTANCE_TAG="g1", **env)
    g2 = start_gateway(GATEWAY_INSTANCE_TAG="g2", **env)
    front = start_nginx("sticky-sid.conf", gateway_1=address(g1), gateway_2=address(g2))
    return g1, g2, front


@pytest.mark.parametrize("sharing", list(SHARING))
def test_clients_on_two_processes_chat_over_polling_and_websocket(
    start_gateway, start_nginx, redis_server, sharing
):
    g1, g2, front = two_gateways(start_gateway, start_nginx, redis_server, sharing)
    kinds = [["polling"], ["polling"], ["polling"], ["polling"], ["websocket"], ["polling", "websocket"]]
    users = [ChatUser(front.url, kind, name=f"u{i}") for i, kind in enumerate(kinds)]
    try:
        tags = {user.client.eio.sid.split(".")[0] for user in users}
        assert tags == {"g1", "g2"}, "handshakes should spread over both processes"
        for _ in range(3):
            chat_round(users, "lobby")
        if sharing == "redis-store":  # membership is shared too: everyone sees everyone
            everyone = sorted(user.name for user in users)
            for user in users:
                wait_for(lambda user=user: user.presence.get("lobby") == everyone)
        assert users[-1].client.transport() == "websocket"  # upgraded through the sid route
        # Checked before closing: a poll racing the client's own close may get 400 (its session is gone).
        assert 400 not in front.statuses(), "a request reached the wrong process (Invalid session)"
    finally:
        for user in users:
            user.close()
    assert "user connected" in g1.log() and "user connected" in g2.log()


class Rejoining:
    """A user that reconnects by itself and rejoins with ``since`` = the last id it saw.

    Like the page, it shows messages by id: a live message may arrive before the
    replay of the ones it missed.
    """

    def __init__(self, url: str, name: str, room: str) -> None:
        self.name, self.room = name, room
        self.by_id: dict[int, str] = {}
        self.lock = threading.Lock()
        self.joined = threading.Event()
        self.client = socketio.Client(reconnection_delay=0.2, reconnection_delay_max=1)
        self.client.on("connect", self._rejoin)
        self.client.on("message", self._take)
        self.client.connect(url, transports=["polling"], wait_timeout=10)
        assert self.joined.wait(10)

    @property
    def texts(self) -> list[str]:
        with self.lock:
            return [self.by_id[i] for i in sorted(self.by_id)]

    def _take(self, message: dict) -> None:
        with self.lock:
            if message["room"] == self.room:
                self.by_id[message["id"]] = message["text"]

    def _rejoin(self) -> None:
        with self.lock:
            since = max(self.by_id, default=None)
        payload = {"room": self.room, "name": self.name, **({"since": since} if since else {})}

        def joined(ack: dict) -> None:
            for message in ack.get("history", []):
                self._take(message)
            self.joined.set()

        self.client.emit("join", payload, callback=joined)

    def tag(self) -> str | None:
        sid = self.client.eio.sid if self.client.connected else None
        return sid.split(".")[0] if sid else None


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "sigterm"])
def test_stopped_process_clients_reconnect_to_the_other_and_lose_no_messages(
    start_gateway, start_nginx, redis_server, stop
):
    g1, g2, front = two_gateways(start_gateway, start_nginx, redis_server)
    users = [Rejoining(front.url, f"u{i}", "lobby") for i in range(4)]
    speaker = ChatUser(front.url, ["websocket"], name="speaker")
    sent: list[str] = []
    try:
        victims = [u for u in users if u.tag() == "g1"]
        assert victims and len(victims) < len(users)
        for _ in range(4):  # the speaker must be on the process that stays; handshakes alternate
            if speaker.client.eio.sid.startswith("g2."):
                break
            speaker.close()
            speaker = ChatUser(front.url, ["websocket"], name="speaker")
        assert speaker.client.eio.sid.startswith("g2.")
        assert speaker.join("lobby")["ok"] is True

        def say(text: str) -> None:
            assert speaker.say("lobby", text)["ok"] is True
            sent.append(text)

        say("before")
        os.killpg(g1.process.pid, stop)
        for n in range(5):  # while g1's users are reconnecting
            say(f"during {n}")
            time.sleep(0.2)
        wait_for(lambda: all(u.tag() == "g2" for u in users), seconds=15)
        say("after")
        for user in users:
            wait_for(lambda user=user: user.texts == sent, seconds=15)
        if stop == signal.SIGTERM:
            g1.process.wait(timeout=8)  # drained: nothing left in flight
            assert "shutting down: told" in g1.log()
    finally:
        speaker.close()
        for user in users:
            user.client.disconnect()


def test_users_of_a_killed_process_leave_presence_once_its_heartbeat_expires(start_gateway, redis_server):
    env = {"GATEWAY_DATABASE_URL": redis_server.url, "GATEWAY_PROFILE": "worker-role"}
    g1 = start_gateway(GATEWAY_INSTANCE_TAG="g1", **env)
    g2 = start_gateway(GATEWAY_INSTANCE_TAG="g2", **env)
    ghost, watcher = ChatUser(g1.url, name="ghost"), ChatUser(g2.url, name="watcher")
    late = None
    try:
        ghost.join("lobby")
        watcher.join("lobby")
        wait_for(lambda: watcher.presence.get("lobby") == ["ghost", "watcher"])
        os.killpg(g1.process.pid, signal.SIGKILL)  # no leave, no disconnect: g1 just stops
        store = redis.Redis.from_url(redis_server.url, decode_responses=True)
        members = store.hgetall(f"{PREFIX}:room:lobby:members")
        g1_instance = next(field.split(":")[0] for field, name in members.items() if name == "ghost")
        heartbeat = f"{PREFIX}:instance:{g1_instance}"
        assert 0 < store.ttl(heartbeat) <= HEARTBEAT_TTL  # g1 is listed at most this long
        store.delete(heartbeat)  # fast-forward: the heartbeat expired, as it would HEARTBEAT_TTL s on
        late = ChatUser(g2.url, name="late")
        late.join("lobby")
        wait_for(lambda: watcher.presence.get("lobby") == ["late", "watcher"])
        assert late.presence["lobby"] == ["late", "watcher"]
    finally:
        for user in (ghost, watcher, late):
            if user is not None:
                user.close()
