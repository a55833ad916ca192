"""The chat over a real gunicorn gateway: rooms, history, acks, resends, crashes, limits, errors."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_client import ChatUser, connected_users, new_room, wait_for
from conftest import PRESENCE_GRACE_S, Gateway, procfile_command

from chat.errors import CODES

FAST = {"GATEWAY_MESSAGES_PER_SECOND": "1000", "GATEWAY_MESSAGE_BURST": "1000"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(procfile_command(), {**FAST, "GATEWAY_MAX_ROOMS": "3"}, tmp_path_factory.mktemp("chat"))
    yield server
    server.stop()


@pytest.fixture
def users(gateway: Gateway) -> Iterator:
    """``users('ann', 'bob', transports=[...])`` connects chat users who are closed after the test."""
    yield from connected_users(gateway.url)


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_join_gives_history_members_and_presence(users, transports):
    room = new_room()
    ann, bob = users("ann", "bob", transports=transports)
    first = ann.join(room)
    assert first == {"ok": True, "room": room, "members": ["ann"], "history": [], "truncated": False}
    ann.say(room, "before bob came")
    joined = bob.join(room)
    assert joined["members"] == ["ann", "bob"]
    assert [m["text"] for m in joined["history"]] == ["before bob came"]
    wait_for(lambda: ann.presence.get(room) == ["ann", "bob"])
    bob.call("leave", {"room": room})
    wait_for(lambda: ann.presence.get(room) == ["ann"])


def test_presence_drops_a_user_who_disconnects_once_the_grace_is_over(users):
    room = new_room()
    ann, bob = users("ann", "bob")
    ann.join(room)
    bob.join(room)
    wait_for(lambda: ann.presence.get(room) == ["ann", "bob"])
    bob.close()
    closed = time.monotonic()
    wait_for(lambda: ann.presence.get(room) == ["ann"])
    assert time.monotonic() - closed >= PRESENCE_GRACE_S - 0.1  # told late, not at once
    assert ann.changes[-1] == {"room": room, "left": "bob"}


def test_a_leave_is_told_at_once_while_an_ended_connection_of_the_name_is_in_its_grace(start_gateway):
    gateway = start_gateway(GATEWAY_PRESENCE_GRACE="60", **FAST)
    room = new_room()
    ann, bob = ChatUser(gateway.url, name="ann"), ChatUser(gateway.url, name="bob")
    bob_again = None
    try:
        ann.join(room)
        bob.join(room)
        wait_for(lambda: ann.presence.get(room) == ["ann", "bob"])
        bob.close()  # in its grace for a minute
        bob_again = ChatUser(gateway.url, name="bob")
        assert bob_again.join(room)["members"] == ["ann", "bob"]
        assert bob_again.call("leave", {"room": room})["ok"]
        wait_for(lambda: ann.presence.get(room) == ["ann"])  # in seconds, not after the grace
        assert ann.changes[-1] == {"room": room, "left": "bob"}
    finally:
        for user in (ann, bob_again):
            if user is not None:
                user.close()


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_a_member_back_within_the_grace_was_never_gone(users, transports):
    room = new_room()
    ann, bob = users("ann", "bob", transports=transports)
    ann.join(room)
    bob.join(room)
    wait_for(lambda: ann.presence.get(room) == ["ann", "bob"])
    told = len(ann.changes)
    bob.close()
    (bob_again,) = users("bob", transports=transports)  # a reconnect: a new connection, the same name
    assert bob_again.join(room)["members"] == ["ann", "bob"]
    time.sleep(PRESENCE_GRACE_S + 0.5)  # the old connection's grace is over
    assert ann.say(room, "still there?")["ok"]
    wait_for(lambda: any(m["text"] == "still there?" for m in bob_again.received))
    assert ann.changes[told:] == [], "nobody was told bob left or joined"
    assert ann.presence[room] == ["ann", "bob"]


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_message_is_acked_once_stored_and_reaches_everyone_in_the_room(users, transports):
    room, elsewhere = new_room(), new_room()
    ann, bob, cid = users("ann", "bob", "cid", transports=transports)
    ann.join(room)
    bob.join(room)
    cid.join(elsewhere)
    ack = ann.say(room, "hello room", client_id="c-1")
    assert ack["ok"] is True and isinstance(ack["id"], int) and isinstance(ack["ts"], int)
    assert ack["seq"] == 1  # the room's first
    for user in (ann, bob):
        wait_for(lambda u=user: u.texts(room) == ["hello room"])
    got = bob.received[-1]
    assert got == {
        "id": ack["id"],
        "room": room,
        "name": "ann",
        "text": "hello room",
        "ts": ack["ts"],
        "client_id": "c-1",
        "seq": ack["seq"],
    }
    assert cid.received == []


def test_ids_increase_within_a_room(users):
    room = new_room()
    (ann,) = users("ann")
    ann.join(room)
    ids = [ann.say(room, f"m{i}")["id"] for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_join_and_leave_are_rate_limited_per_connection(start_gateway):
    gateway = start_gateway(GATEWAY_JOINS_PER_SECOND="1", GATEWAY_JOIN_BURST="3")
    room = new_room()
    ann, bob = ChatUser(gateway.url, name="ann"), ChatUser(gateway.url, name="bob")
    try:
        acks = [ann.join(room), ann.call("leave", {"room": room}), ann.join(room), ann.join(room)]
        assert [a["ok"] for a in acks[:3]] == [True, True, True]
        assert acks[3]["error"]["code"] == "rate_limited" and "retry" in acks[3]["error"]["message"]
        assert 0 < acks[3]["error"]["retry_after"] <= 1  # joins_per_second 1: the wait, in seconds
        assert bob.join(room)["ok"], "another connection has its own bucket"
        assert ann.say(room, "messages have their own limit")["ok"]
        wait_for(lambda: ann.call("leave", {"room": room})["ok"], seconds=5)
    finally:
        ann.close()
        bob.close()


def test_a_resend_with_the_same_client_id_is_stored_once(users):
    room = new_room()
    ann, bob = users("ann", "bob")
    ann.join(room)
    bob.join(room)
    first = ann.say(room, "only once", client_id="resend-1")
    again = ann.say(room, "only once", client_id="resend-1")
    assert again == first
    ann.say(room, "after")
    wait_for(lambda: bob.texts(room) == ["only once", "after"])
    assert [m["text"] for m in users("dan")[0].join(room)["history"]] == ["only once", "after"]


def test_join_with_since_replays_only_what_was_missed(users):
    room = new_room()
    ann, bob = users("ann", "bob")
    ann.join(room)
    seen = ann.say(room, "seen")["id"]
    ann.say(room, "missed 1")
    ann.say(room, "missed 2")
    replay = bob.join(room, since=seen)
    assert [m["text"] for m in replay["history"]] == ["missed 1", "missed 2"]
    assert replay["truncated"] is False


def test_replay_is_bounded_and_says_so(start_gateway):
    gateway = start_gateway(GATEWAY_REPLAY_LIMIT="3", **FAST)
    room = new_room()
    ann = ChatUser(gateway.url, name="ann")
    try:
        ann.join(room)
        ids = [ann.say(room, f"m{i}")["id"] for i in range(5)]
        first = ann.join(room, since=0)
        assert [m["id"] for m in first["history"]] == ids[:3] and first["truncated"] is True
        rest = ann.join(room, since=ids[2])
        assert [m["id"] for m in rest["history"]] == ids[3:] and rest["truncated"] is False
    finally:
        ann.close()


def test_history_survives_kill_9_and_nothing_is_lost_or_repeated(tmp_path: Path):
    """A writer keeps sending while the server is killed; after a restart a reader catches up with since."""
    env = {**FAST, "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.db'}"}
    server = Gateway(procfile_command(), env, tmp_path)
    room = new_room()
    writer, reader = ChatUser(server.url, name="writer"), ChatUser(server.url, name="reader")
    writer.join(room)
    reader.join(room)
    acked: dict[str, int] = {}  # client_id -> id
    outbox = [f"msg-{i}" for i in range(60)]
    killed = threading.Event()

    def send_until_killed() -> None:
        for client_id in outbox:
            try:
                acked[client_id] = writer.say(room, client_id, client_id=client_id)["id"]
            except Exception:  # the server died under us: the page keeps the rest
                return
            if len(acked) == 20:
                killed.wait(10)

    sender = threading.Thread(target=send_until_killed)
    sender.start()
    wait_for(lambda: len(acked) >= 20)
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    killed.set()
    sender.join(15)
    writer.client.disconnect()
    reader.client.disconnect()
    reader_saw = [m["id"] for m in reader.received]

    restarted = Gateway(procfile_command(), env, tmp_path)
    try:
        writer, reader2 = ChatUser(restarted.url, name="writer"), ChatUser(restarted.url, name="reader")
        writer.join(room, since=max(acked.values()))
        for client_id in outbox:  # resend everything not acked, with the same client_id
            if client_id not in acked:
                acked[client_id] = writer.say(room, client_id, client_id=client_id)["id"]
        replay = reader2.join(room, since=reader_saw[-1] if reader_saw else 0)
        everything = reader_saw + [m["id"] for m in replay["history"]]
        assert len(everything) == len(set(everything)), "a message was shown twice"
        assert everything == sorted(acked.values()), "a message was lost or out of order"
        texts = [m["text"] for m in ChatUser(restarted.url, name="late").join(room, since=0)["history"]]
        assert texts == outbox
    finally:
        restarted.stop()


def test_rate_limit_refuses_the_flood_and_keeps_the_connection(start_gateway):
    gateway = start_gateway(GATEWAY_MESSAGES_PER_SECOND="1", GATEWAY_MESSAGE_BURST="3")
    room = new_room()
    ann = ChatUser(gateway.url, name="ann")
    try:
        ann.join(room)
        acks = [ann.say(room, f"m{i}") for i in range(6)]
        assert [a["ok"] for a in acks[:3]] == [True, True, True]
        refused = [a for a in acks if not a["ok"]]
        assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
        assert "retry in" in refused[0]["error"]["message"]
        assert ann.hello() == "Hello back!"
        wait_for(lambda: ann.say(room, "later")["ok"], seconds=5)
    finally:
        ann.close()


ERROR_CASES = [
    ("join", "not an object", "invalid_payload"),
    ("join", {"room": "r"}, "invalid_payload"),
    ("join", {"room": "r", "name": "ann", "since": "yesterday"}, "invalid_payload"),
    ("join", {"room": "", "name": "ann"}, "invalid_room"),
    ("join", {"room": "x" * 65, "name": "ann"}, "invalid_room"),
    ("join", {"room": "r", "name": "bell\x07"}, "invalid_name"),
    ("join", {"room": "r", "name": ["ann"]}, "invalid_name"),
    ("join", {"room": "r", "name": "\u202eann"}, "invalid_name"),  # a right-to-left override
    ("join", {"room": "r", "name": "ann", "since": -1}, "bad_request"),
    ("join", {"room": "r", "name": "ann", "since": 2**63}, "bad_request"),  # past SQLite's integers
    ("join", {"room": "r", "name": "lone \ud800"}, "bad_request"),  # not Unicode text
    ("message", {"room": "joined", "text": "lone \udc00", "client_id": "c"}, "bad_request"),
    ("message", {"room": "joined", "text": "hi", "client_id": "reused"}, "client_id_taken"),
    ("message", None, "invalid_payload"),
    ("message", {"room": "joined", "text": "", "client_id": "c"}, "invalid_payload"),
    ("message", {"room": "joined", "text": "hi", "client_id": 7}, "invalid_payload"),
    ("message", {"room": "joined", "text": "x" * 2001, "client_id": "c"}, "text_too_long"),
    ("message", {"room": "elsewhere", "text": "hi", "client_id": "c"}, "not_in_room"),
    ("leave", {"room": "elsewhere"}, "not_in_room"),
    ("join", "too many rooms", "too_many_rooms"),
    # More arguments than the one object: python-socketio's client sends a tuple as several.
    ("join", ({"room": "r", "name": "ann"}, "extra"), "bad_request"),
    ("message", ({"room": "joined", "text": "hi", "client_id": "c"}, 1, 2), "bad_request"),
]


@pytest.mark.parametrize(("event", "data", "code"), ERROR_CASES)
def test_every_error_code_is_an_ack_and_the_connection_carries_on(users, event, data, code):
    (ann,) = users("ann", transports=["polling"])
    assert ann.join("joined")["ok"]
    if data == "too many rooms":  # max_rooms is 3 on this gateway
        assert ann.join("second")["ok"] and ann.join("third")["ok"]
        data = {"room": "fourth", "name": "ann"}
    if code == "client_id_taken":  # someone else sent this client_id first
        (bob,) = users("bob")
        bob.join("joined")
        assert bob.say("joined", "bob's", client_id=data["client_id"])["ok"]
    ack = ann.call(event, data)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert ack["error"]["message"]
    assert "positional" not in ack["error"]["message"] and "<locals>" not in ack["error"]["message"]
    assert ann.hello() == "Hello back!"
    assert ann.say("joined", "still here")["ok"]


def test_every_documented_error_code_is_tested():
    # internal_error needs a handler with a bug: tests/unit/test_handler_errors.py gives it one;
    # unavailable a failing store: tests/test_store_failures.py.
    tested = {code for _, _, code in ERROR_CASES} | {"rate_limited", "malformed_packet", "internal_error"}
    tested |= {"unavailable"}
    # Identity codes need auth=jwt or a second user: tests/test_auth.py and tests/test_api.py.
    tested |= {"forbidden", "name_taken", "unauthorized", "token_expired", "disconnected_by_server"}
    assert tested == set(CODES)


def test_gateways_on_one_redis_share_history(start_gateway, redis_server):
    """Two processes, one Redis: what was said on one is in the other's history, ids never collide."""
    first = start_gateway(GATEWAY_DATABASE_URL=redis_server.url, **FAST)
    second = start_gateway(GATEWAY_DATABASE_URL=redis_server.url, **FAST)
    room = new_room()
    ann, bob = ChatUser(first.url, name="ann"), ChatUser(second.url, name="bob", transports=["polling"])
    try:
        ann.join(room)
        assert bob.join(room)["members"] == ["ann", "bob"], "presence lists users of every process"
        ids = [ann.say(room, "from first")["id"], bob.say(room, "from second")["id"]]
        assert ids[0] < ids[1]
        assert (
            bob.say(room, "from second", client_id="dup")["id"]
            == bob.say(room, "again", client_id="dup")["id"]
        )
        late = ChatUser(first.url, name="late")
        assert [m["text"] for m in late.join(room)["history"]] == ["from first", "from second", "from second"]
        late.close()
        ann.close()
        wait_for(lambda: bob.presence.get(room) == ["bob"])  # told across processes, after the grace
        assert bob.join(room)["members"] == ["bob"]
    finally:
        ann.close()
        bob.close()


def test_join_without_since_gives_the_last_50(users):
    room = new_room()
    ann, bob = users("ann", "bob")
    ann.join(room)
    ids = [ann.say(room, f"m{i}")["id"] for i in range(55)]
    assert [m["id"] for m in bob.join(room)["history"]] == ids[-50:]
