"""What a user sees when the history store fails, and what a deployment keeps (gunicorn from the Procfile).

- A store that fails (a SQLite file locked by another process, Redis stopped) answers each
  `message` with `unavailable` within `store_timeout`; the connection carries on, the failure is
  counted in /metrics and logged once, and messages sent once the store is back are stored.
- Each room numbers its messages 1, 2, 3... (`seq`); a client that sees a jump joins with `since`.
- `history_max_messages` and `history_max_age` prune.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

from chat_client import ChatUser, new_room, wait_for
from chat_page import ChatPage, open_context
from conftest import RedisServer
from playwright.sync_api import expect
from test_operations import scrape

FAST = {
    "GATEWAY_MESSAGES_PER_SECOND": "1000",
    "GATEWAY_MESSAGE_BURST": "1000",
    # These tests join again and again to watch the history change.
    "GATEWAY_JOINS_PER_SECOND": "1000",
    "GATEWAY_JOIN_BURST": "1000",
    "GATEWAY_STORE_TIMEOUT": "1",
}
#: Generous: an `unavailable` answer is due within store_timeout (1 s) plus a little.
ANSWER_BOUND = 8.0


def timed_say(user: ChatUser, room: str, text: str, client_id: str | None = None) -> tuple[dict, float]:
    started = time.monotonic()
    ack = user.say(room, text, client_id)
    return ack, time.monotonic() - started


def store_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "history store unavailable" in line]


def test_a_locked_sqlite_file_answers_unavailable_in_time_and_recovers(start_gateway, tmp_path):
    gateway = start_gateway(**FAST)
    room = new_room()
    ann, bob = ChatUser(gateway.url, name="ann"), ChatUser(gateway.url, ["polling"], name="bob")
    locker = sqlite3.connect(tmp_path / "history.db", isolation_level=None)
    try:
        ann.join(room)
        bob.join(room)
        assert ann.say(room, "before")["seq"] == 1
        sid = ann.client.get_sid()
        locker.execute("BEGIN EXCLUSIVE")  # another process holds the file: no write gets through
        answers = [timed_say(ann, room, f"while locked {i}", client_id=f"locked-{i}") for i in range(4)]
        for ack, seconds in answers:
            assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
            assert seconds < ANSWER_BOUND
        assert ann.hello()  # the connection carries on
        assert ann.client.get_sid() == sid
        locker.execute("ROLLBACK")

        # The page's outbox sends the same client_id again: stored once the store is back.
        wait_for(lambda: ann.say(room, "while locked 0", client_id="locked-0")["ok"])
        after = ann.say(room, "after")
        assert after["ok"] is True
        history = bob.join(room, since=0)["history"]
        texts = [m["text"] for m in history]
        assert texts[0] == "before" and texts[-1] == "after" and "while locked 0" in texts
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
        wait_for(lambda: "after" in bob.texts(room))
    finally:
        locker.close()
        ann.close()
        bob.close()
    _, samples = scrape(gateway.url)
    assert samples[("rolegate_store_failures_total", (("operation", "add"),))] >= 4
    assert samples[("rolegate_errors_total", (("code", "unavailable"),))] >= 4
    lines = store_lines(gateway.log())
    assert len(lines) <= 2, lines  # once a minute per kind of failure, not once per message
    assert "Traceback" not in gateway.log()


def test_with_redis_stopped_message_and_join_answer_unavailable(start_gateway, tmp_path):
    redis_server = RedisServer(tmp_path)
    try:
        gateway = start_gateway(GATEWAY_DATABASE_URL=redis_server.url, **FAST)
        room = new_room()
        ann = ChatUser(gateway.url, ["polling"], name="ann")
        ann.join(room)
        assert ann.say(room, "before")["ok"] is True
        redis_server.stop()
        for i in range(3):
            ack, seconds = timed_say(ann, room, f"down {i}")
            assert ack["error"]["code"] == "unavailable", ack
            assert seconds < ANSWER_BOUND
        assert ann.join(new_room())["error"]["code"] == "unavailable"
        assert ann.hello()
        _, samples = scrape(gateway.url)
        assert samples[("rolegate_store_failures_total", (("operation", "add"),))] >= 3
        assert "Traceback" not in gateway.log()
        ann.close()
    finally:
        redis_server.stop()


def test_seq_numbers_each_room_without_holes_under_concurrent_senders(start_gateway):
    gateway = start_gateway(**FAST)
    room, other = new_room(), new_room()
    senders = [ChatUser(gateway.url, name=f"u{i}") for i in range(4)]
    try:
        for user in senders:
            user.join(room)
            user.join(other)

        def send(user: ChatUser) -> None:
            for i in range(15):
                assert user.say(room if i % 3 else other, f"{user.name}-{i}")["ok"]

        threads = [threading.Thread(target=send, args=(u,)) for u in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_for(lambda: all(len(u.seqs(room)) == 40 and len(u.seqs(other)) == 20 for u in senders))
        for user in senders:
            assert user.seqs(room) == list(range(1, 41)) and user.seqs(other) == list(range(1, 21))
        history = ChatUser(gateway.url, name="late")
        assert [m["seq"] for m in history.join(room, since=0)["history"]] == list(range(1, 41))
        history.close()
    finally:
        for user in senders:
            user.close()


def test_a_room_keeps_its_last_history_max_messages(start_gateway):
    counted = start_gateway(GATEWAY_HISTORY_MAX_MESSAGES="3", **FAST)
    room = new_room()
    ann = ChatUser(counted.url, name="ann")
    ann.join(room)
    for i in range(6):
        ann.say(room, f"m{i}")
    history = ann.join(room, since=0)["history"]
    assert [(m["text"], m["seq"]) for m in history] == [("m3", 4), ("m4", 5), ("m5", 6)]
    ann.close()


def test_messages_older_than_history_max_age_are_pruned_in_the_background(start_gateway, tmp_path):
    gateway = start_gateway(
        GATEWAY_HISTORY_MAX_AGE="1", GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path / 'aged.db'}", **FAST
    )
    room = new_room()
    ann = ChatUser(gateway.url, name="ann")
    try:
        ann.join(room)
        for i in range(3):
            ann.say(room, f"old {i}")
        wait_for(lambda: ann.join(room, since=0)["history"] == [], seconds=15)
        assert ann.say(room, "new")["seq"] == 4  # numbering goes on after the history emptied
        _, samples = scrape(gateway.url)
        assert samples[("rolegate_history_pruned_total", (("reason", "age"),))] >= 3
    finally:
        ann.close()


def test_a_client_on_the_other_process_gets_every_message_across_a_redis_restart(start_gateway, tmp_path):
    """The broadcast of a message acked while process B's listener is still away is filled by seq."""
    redis_server = RedisServer(tmp_path, appendonly=True)
    try:
        env = {"GATEWAY_DATABASE_URL": redis_server.url, **FAST}
        first, second = start_gateway(**env), start_gateway(**env)
        room = new_room()
        ann = ChatUser(first.url, name="ann")
        bob = ChatUser(second.url, name="bob", fill_gaps=True)
        sid = bob.client.get_sid()
        ann.join(room)
        bob.join(room)
        acked = [ann.say(room, "before")]
        wait_for(lambda: bob.seqs(room) == [1])

        redis_server.stop()
        # Long enough for B's listener to give up reconnecting and back off past the restart (measured:
        # after 3 s redis-py's own retries still catch it; after 8 s B missed the next messages live).
        time.sleep(8)
        redis_server.restart()

        deadline = time.monotonic() + 60
        i = 0
        while True:
            ack = ann.say(room, f"after {i}")
            if ack["ok"]:
                acked.append(ack)
                i += 1
            if ack["ok"] and bob.seqs(room) == [a["seq"] for a in acked]:
                break
            assert time.monotonic() < deadline, (bob.seqs(room), [a["seq"] for a in acked])
            time.sleep(0.3)
        assert [a["seq"] for a in acked] == list(range(1, len(acked) + 1))
        texts = [bob.by_seq[room][seq]["text"] for seq in bob.seqs(room)]
        assert texts == ["before"] + [f"after {n}" for n in range(i)]
        assert bob.client.connected and bob.client.get_sid() == sid, "bob kept his connection"
        ann.close()
        bob.close()
    finally:
        redis_server.stop()


def test_the_page_shows_unavailable_by_the_message_and_sends_it_once_the_store_is_back(
    start_gateway, browser, tmp_path
):
    gateway = start_gateway(**FAST)
    room = new_room()
    context = open_context(browser)
    bob = ChatUser(gateway.url, ["polling"], name="bob")
    locker = sqlite3.connect(tmp_path / "history.db", isolation_level=None)
    try:
        page = ChatPage(context, gateway.url)
        page.join("ann", room)
        bob.join(room)
        locker.execute("BEGIN EXCLUSIVE")
        page.send("while locked")
        retrying = page.page.locator("#messages li.unavailable .time")
        expect(retrying).to_contain_text("not stored yet", timeout=ANSWER_BOUND * 1000)
        page.screenshot("store-unavailable")
        locker.execute("ROLLBACK")
        page.wait_texts(["while locked"], seconds=40)
        expect(page.page.locator("#messages li.unavailable")).to_have_count(0)
        wait_for(lambda: bob.texts(room) == ["while locked"])
        assert [m["text"] for m in bob.join(room, since=0)["history"]] == ["while locked"]
    finally:
        locker.close()
        bob.close()
        context.close()


def test_the_page_fills_a_lost_broadcast_when_the_next_seq_jumps(start_gateway, browser):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", **FAST)
    room = new_room()
    context = open_context(browser)
    dropped: list[dict] = []

    def route(ws) -> None:  # noqa: ANN001 (playwright WebSocketRoute)
        server = ws.connect_to_server()

        def from_server(frame: str | bytes) -> None:
            if isinstance(frame, str) and frame.startswith("42") and not dropped:
                event = json.loads(frame[2:])
                if event[0] == "message" and event[1]["text"] == "lost":
                    dropped.append(event[1])  # as if the broadcast died with a Redis listener
                    return
            ws.send(frame)

        ws.on_message(lambda frame: server.send(frame))
        server.on_message(from_server)

    context.route_web_socket("**/socket.io/**", route)
    bob = ChatUser(gateway.url, ["polling"], name="bob")
    try:
        page = ChatPage(context, gateway.url)
        page.join("ann", room)
        bob.join(room)
        bob.say(room, "first")
        page.wait_texts(["first"])
        bob.say(room, "lost")
        bob.say(room, "third")
        page.wait_texts(["first", "lost", "third"])
        assert dropped and dropped[0]["seq"] == 2
        joins = [data for _, data in page.sent_events("join")]
        assert joins[-1] == {"room": room, "name": "ann", "since": page.messages()[0]["id"]}
        assert page.console_errors == []
    finally:
        bob.close()
        context.close()
