"""No client can hurt another: each hostile client against a real gunicorn gateway from the Procfile.

What the others see is asserted, never a timing figure: presence changes one small event at a time,
joins and replays are rate-limited and bounded in bytes, every bad value is answered `bad_request`,
a reused client_id is refused rather than acked with someone else's message, and a bystander's
ack still arrives within a generous bound while it happens.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chat_client import ChatUser, connected_users, new_room, wait_for
from conftest import Gateway, procfile_command
from wire import raw_websocket

#: A bystander's ack must arrive within this while someone else attacks (generous, not a figure).
BYSTANDER_ACK_SECONDS = 2
#: Messages of 8 kB each: 2,000 characters (max_text_length) of 4 bytes in UTF-8.
BIG_TEXT = "\U0001f600" * 2000
FAST = {
    "GATEWAY_MESSAGES_PER_SECOND": "10000",
    "GATEWAY_MESSAGE_BURST": "10000",
    # The replay test's writer fills 2.4 MB of history at once (7 MB as python-socketio's ASCII JSON):
    # over the default inbound budget, which would rightly close it as a flood before the test begins.
    "GATEWAY_INBOUND_BYTE_BURST": "20000000",
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """Default join limits and replay bounds; only the message rate is raised, to fill rooms fast."""
    server = Gateway(procfile_command(), FAST, tmp_path_factory.mktemp("hostile"))
    yield server
    server.stop()


@pytest.fixture
def users(gateway: Gateway) -> Iterator:
    """``users('ann', 'bob', transports=[...])`` connects chat users who are closed after the test."""
    yield from connected_users(gateway.url)


def flood(user: ChatUser, events: list[tuple[str, Any]]) -> list[Any]:
    """Send every event at once, without waiting for acks in between; returns the acks in order
    (None for those not answered because the gateway dropped the connection)."""
    acks: list[Any] = [None] * len(events)
    answered = threading.Semaphore(0)

    def keep(index: int) -> Any:
        def callback(ack: Any = None, *_: Any) -> None:
            acks[index] = ack
            answered.release()

        return callback

    for index, (event, data) in enumerate(events):
        user.client.emit(event, data, callback=keep(index))
    deadline = time.monotonic() + 60
    for _ in events:
        while not answered.acquire(timeout=0.1):
            if not user.client.connected:
                return acks
            assert time.monotonic() < deadline, "an event got no ack"
    return acks


def bystander_is_answered(bystander: ChatUser, room: str) -> None:
    """The bystander's message is acked within the bound (TimeoutError otherwise)."""
    ack = bystander.client.call(
        "message",
        {"room": room, "text": "still here", "client_id": uuid.uuid4().hex},
        timeout=BYSTANDER_ACK_SECONDS,
    )
    assert ack["ok"] is True


# --- presence: a join/leave storm ---------------------------------------------------------------


def test_a_join_leave_storm_costs_each_member_one_small_event_per_change_and_is_rate_limited(users):
    room, calm = new_room(), new_room()
    members = users(*(f"member{i:02d}" for i in range(20)))
    for member in members:
        assert member.join(room)["ok"]
    (bystander,) = users("bystander")
    bystander.join(calm)
    (storm,) = users("storm")
    for member in members:
        member.changes.clear()

    storming = threading.Thread(
        target=lambda: acks.extend(
            flood(storm, [("join", {"room": room, "name": "storm"}), ("leave", {"room": room})] * 200)
        )
    )
    acks: list[Any] = []
    storming.start()
    bystander_is_answered(bystander, calm)
    storming.join(60)
    assert len(acks) == 400

    refused = [ack for ack in acks if not ack["ok"]]
    assert refused and {ack["error"]["code"] for ack in refused} <= {"rate_limited", "not_in_room"}
    assert any(ack["error"]["code"] == "rate_limited" for ack in refused)
    changes_made = sum(1 for ack in acks if ack["ok"])  # each accepted join or leave: one change at most
    assert changes_made < 40, "the join limit let the storm through"
    storm.close()
    everyone = sorted(member.name for member in members)
    for member in members:
        wait_for(lambda m=member: m.presence.get(room) == everyone)
        assert 0 < len(member.changes) <= changes_made + 1  # + the disconnect's leave
        for change in member.changes:
            assert change.keys() in ({"room", "joined"}, {"room", "left"}), "a whole list was sent"
            assert change["room"] == room and (change.get("joined") or change.get("left")) == "storm"
            assert len(json.dumps(change)) < 100
    assert storm.changes == [] or all("members" not in change for change in storm.changes)


def test_a_burst_of_joins_tells_each_member_of_each_joiner_once(users):
    # Joins that overlap while they read the history used to announce every name that came
    # meanwhile, again with each join: 200 at once froze the worker (bench/RESULTS.md).
    room = new_room()
    crowd = users(*(f"j{i}" for i in range(40)))
    threads = [threading.Thread(target=lambda user=user: user.join(room)) for user in crowd]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everyone = sorted(user.name for user in crowd)
    for user in crowd:
        wait_for(lambda user=user: user.presence.get(room) == everyone)
    time.sleep(0.5)  # any duplicate still on its way
    for user in crowd:
        joined = [change["joined"] for change in user.changes if "joined" in change]
        assert len(joined) == len(set(joined)), f"{user.name} was told of a joiner twice: {sorted(joined)}"
        assert not any("left" in change for change in user.changes)


def test_a_second_connection_of_a_name_is_not_a_new_member_and_the_last_one_leaving_is(users):
    room = new_room()
    watcher, ann_tab1, ann_tab2 = users("watcher", "ann", "ann")
    watcher.join(room)
    ann_tab1.join(room)
    wait_for(lambda: watcher.changes == [{"room": room, "joined": "ann"}])
    assert ann_tab2.join(room)["members"] == ["ann", "watcher"]
    ann_tab1.call("leave", {"room": room})
    assert ann_tab2.hello() and watcher.hello()  # anything sent by now has arrived
    assert watcher.changes == [{"room": room, "joined": "ann"}]
    ann_tab2.close()
    wait_for(lambda: watcher.changes == [{"room": room, "joined": "ann"}, {"room": room, "left": "ann"}])
    assert watcher.presence[room] == ["watcher"]


# --- replays on demand ----------------------------------------------------------------------------


def test_a_replay_flood_is_rate_limited_and_bounded_in_bytes_and_others_are_answered(users, gateway):
    room, calm = new_room(), new_room()
    (writer,) = users("writer")
    writer.join(room)
    for _ in range(300):  # 2.4 MB of history
        assert writer.say(room, BIG_TEXT)["ok"]
    (bystander,) = users("bystander")
    bystander.join(calm)
    attackers = users(*(f"replayer{i}" for i in range(16)))

    results: list[list[Any]] = [[] for _ in attackers]
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=lambda a=a, r=r: r.extend(
                flood(a, [("join", {"room": room, "name": a.name, "since": 0})] * 30)
            )
        )
        for a, r in zip(attackers, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    bystander_is_answered(bystander, calm)
    for thread in threads:
        thread.join(120)
    # The join limit: a burst of 10, then 1 a second (the defaults) for as long as the flood took.
    allowed = 10 + math.ceil(time.monotonic() - started) + 1

    for attacker, acks in zip(attackers, results, strict=True):
        answered = [ack for ack in acks if ack is not None]
        replays = [ack for ack in answered if ack["ok"]]
        assert len(replays) <= allowed, "the join limit let the flood through"
        refused = [ack["error"]["code"] for ack in answered if not ack["ok"]]
        assert set(refused) <= {"rate_limited"}, refused
        # Refused past the limit, or dropped for reading too slowly what it asked for (the gateway
        # drops a connection that falls megabytes behind): either way the flood stopped.
        assert len(replays) < len(answered) or not attacker.client.connected
        for replay in replays:
            assert replay["truncated"] is True  # 2.4 MB do not fit in replay_max_bytes (1 MB)
            assert (
                sum(
                    len(json.dumps(m, ensure_ascii=False, separators=(",", ":")).encode())
                    for m in replay["history"]
                )
                <= 1_000_000
            )


def test_a_replay_cut_by_bytes_is_finished_by_joining_again_with_the_last_id(start_gateway):
    gateway = start_gateway(GATEWAY_REPLAY_MAX_BYTES="20000", **FAST)
    room = new_room()
    ann = ChatUser(gateway.url, name="ann")
    try:
        ann.join(room)
        ids = [ann.say(room, BIG_TEXT)["id"] for _ in range(7)]
        got, since, rounds = [], 0, 0
        while True:
            replay = ann.join(room, since=since)
            got += [m["id"] for m in replay["history"]]
            rounds += 1
            if not replay["truncated"]:
                break
            since = got[-1]
        assert got == ids and rounds > 1
        assert len(ann.join(room)["history"]) < 7  # the latest 50, cut to the newest that fit
    finally:
        ann.close()


# --- values no event accepts ----------------------------------------------------------------------


def ack_of(ws: Any, ack_id: int) -> Any:
    """Read raw frames until the ack ``ack_id`` arrives (pings answered)."""
    while True:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith(f"43{ack_id}["):
            return json.loads(frame[len(f"43{ack_id}") :])[0]


@pytest.mark.parametrize("depth", [1025, 100_000])
def test_json_nested_too_deep_gets_a_bad_request_ack_and_no_traceback(gateway, users, depth):
    ws = raw_websocket(gateway.url)
    try:
        ws.send('427["join",' + "[" * depth + "]" * depth + "]")
        ack = ack_of(ws, 7)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
        assert "nested deeper" in ack["error"]["message"]
        ws.send('428["join",{"room":"after","name":"deep"}]')
        assert ack_of(ws, 8)["ok"] is True
    finally:
        ws.close()
    assert "Traceback" not in gateway.log() and "RecursionError" not in gateway.log()


def test_json_nested_too_deep_without_an_ack_gets_a_bad_request_error_event(gateway):
    ws = raw_websocket(gateway.url)
    try:
        ws.send('42["join",' + "[" * 5000 + "]" * 5000 + "]")
        while not (frame := ws.recv()).startswith('42["error"'):
            pass
        assert json.loads(frame[2:])[1]["code"] == "bad_request"
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("join", {"room": "lone\ud800", "name": "ann"}),
        ("join", {"room": "r", "name": "ann\udfff"}),
        ("message", {"room": "here", "text": "\ud800", "client_id": "c"}),
        ("message", {"room": "here", "text": "hi", "client_id": "c\ud83d"}),
        ("join", {"room": "r", "name": "ann", "since": 2**63}),
        ("join", {"room": "r", "name": "ann", "since": 2**64}),
        ("join", {"room": "r", "name": "ann", "since": 10**30}),
        ("join", {"room": "r", "name": "ann", "since": -1}),
    ],
)
def test_every_bad_value_gets_a_bad_request_ack_and_the_room_carries_on(gateway, users, event, data):
    ann, bob = users("ann", "bob")
    ann.join("here")
    bob.join("here")
    ack = ann.call(event, data)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
    assert "Traceback" not in ack["error"]["message"]
    assert ann.say("here", "still here")["ok"]
    wait_for(lambda: "still here" in bob.texts("here"))
    assert "Traceback" not in gateway.log()


# --- resends are the sender's ------------------------------------------------------------------------


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_a_client_id_reused_by_another_sender_is_refused_and_the_first_message_stays(users, transports):
    room = new_room()
    ann, mallory, watcher = users("ann", "mallory", "watcher", transports=transports)
    for user in (ann, mallory, watcher):
        user.join(room)
    first = ann.say(room, "ann's words", client_id="shared-id")
    taken = mallory.say(room, "mallory's words", client_id="shared-id")
    assert taken["ok"] is False and taken["error"]["code"] == "client_id_taken"
    assert taken.get("id") is None
    assert ann.say(room, "ann's words", client_id="shared-id") == first  # ann's own resend still works
    assert mallory.say(room, "mallory's words")["ok"]  # with a new id it goes through
    wait_for(lambda: watcher.texts(room) == ["ann's words", "mallory's words"])
    history = users("late")[0].join(room)["history"]
    assert [(m["name"], m["text"]) for m in history] == [
        ("ann", "ann's words"),
        ("mallory", "mallory's words"),
    ]


# --- bidirectional text ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ann\u202e", "\u2066ann\u2069", "a\u200bnn", "ann\u200f"])
def test_names_with_invisible_or_direction_changing_characters_are_refused(users, name):
    (user,) = users("x")
    ack = user.call("join", {"room": "r", "name": name})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_name"
    assert "direction-changing" in ack["error"]["message"]


def test_direction_marks_in_a_text_are_kept(users):
    room = new_room()
    ann, bob = users("ann", "bob")
    ann.join(room)
    bob.join(room)
    assert ann.say(room, "\u202eolleh")["ok"]
    wait_for(lambda: bob.texts(room) == ["\u202eolleh"])
