"""WebSocket sessions that send directly (seam/session.py), against a real gunicorn gateway.

Replies and broadcasts are written from the sender's own green thread, so these check what
python-engineio's writer thread used to guarantee: a client that stops reading delays nobody
and still gets every message in order, and a client that vanishes is still found and closed.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import websocket
from chat_client import ChatUser, wait_for
from wire import get, handshake, raw_websocket

#: Large messages, and enough of them to fill the silent reader's socket buffers many times over.
TEXT_LENGTH = 8000
MESSAGES = 600


def join_raw(ws, room: str, name: str) -> None:  # noqa: ANN001
    ws.send(json.dumps(["join", {"room": room, "name": name}]).join(("420", "")))
    while not ws.recv().startswith("430"):
        pass


def message_texts(ws, count: int) -> list[str]:  # noqa: ANN001
    """Read until ``count`` chat messages arrived; answer pings meanwhile."""
    texts: list[str] = []
    while len(texts) < count:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith('42["message"'):
            texts.append(json.loads(frame[2:])[1]["text"])
    return texts


def next_event_frame(ws) -> str:  # noqa: ANN001
    """The next frame that is not a ping (answered) or a noop."""
    while (frame := next_frame(ws)) == "2":
        ws.send("3")
    return frame


def next_frame(ws) -> str:  # noqa: ANN001
    """The next frame that is not an Engine.IO noop."""
    while (frame := ws.recv()) == "6":
        pass
    return frame


def busy_gateway(start_gateway):  # noqa: ANN001, ANN201 (the conftest fixture, a Gateway)
    """A gateway that takes large messages as fast as a sender can send them."""
    return start_gateway(
        GATEWAY_PROFILE="worker-role",
        GATEWAY_MAX_TEXT_LENGTH=str(TEXT_LENGTH),
        GATEWAY_MESSAGES_PER_SECOND="10000",
        GATEWAY_MESSAGE_BURST="10000",
        # ~19 MB in a few seconds is a flood to the default inbound budget (1 MB/s).
        GATEWAY_INBOUND_BYTES_PER_SECOND="1e9",
        GATEWAY_INBOUND_BYTE_BURST="1000000000",
    )


def silent_member(url: str, room: str) -> websocket.WebSocket:
    """A raw WebSocket in ``room`` with a small receive buffer, which the test then leaves unread."""
    silent = raw_websocket(url, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    join_raw(silent, room, "silent")
    return silent


def test_a_client_that_stops_reading_delays_nobody_and_loses_nothing(start_gateway):
    gateway = busy_gateway(start_gateway)
    silent = silent_member(gateway.url, "lobby")
    reader = ChatUser(gateway.url, name="reader")
    sender = ChatUser(gateway.url, name="sender")
    try:
        reader.join("lobby")
        sender.join("lobby")
        texts = [f"{i:04d}" + "x" * (TEXT_LENGTH - 4) for i in range(MESSAGES)]
        for text in texts:  # each waits for its ack: a sender stuck behind "silent" times out here
            assert sender.say("lobby", text)["ok"]
        wait_for(lambda: len(reader.texts("lobby")) == MESSAGES, seconds=30)
        assert reader.texts("lobby") == texts
        assert sender.hello() == "Hello back!"

        silent.settimeout(30)
        assert message_texts(silent, MESSAGES) == texts  # all of them, in order, once it reads
    finally:
        reader.close()
        sender.close()
        silent.close()


def test_a_client_that_falls_too_far_behind_is_dropped_and_catches_up_by_replay(start_gateway):
    gateway = busy_gateway(start_gateway)
    silent = silent_member(gateway.url, "lobby")
    sender = ChatUser(gateway.url, name="sender")
    late = None
    try:
        sender.join("lobby")
        ids = []
        # Far more than the kernel's buffers plus BACKLOG_LIMIT_BYTES (8 MiB) of unread messages.
        for i in range(2400):
            ack = sender.say("lobby", f"{i:04d}" + "x" * (TEXT_LENGTH - 4))
            assert ack["ok"]
            ids.append(ack["id"])
        assert sender.hello() == "Hello back!"  # the sender never waited on the silent client
        assert "dropped a WebSocket whose client fell over 8388608 bytes behind" in gateway.log()

        silent.settimeout(10)
        seen = []
        try:
            while True:
                frame = silent.recv()
                if frame.startswith('42["message"'):
                    seen.append(json.loads(frame[2:])[1]["id"])
        except (websocket.WebSocketException, OSError):
            pass  # the connection ends, perhaps in the middle of a frame
        assert seen and seen == ids[: len(seen)] and len(seen) < len(ids)  # in order, then cut off

        late = ChatUser(gateway.url, name="silent")  # what its page does: reconnect, join with since
        replayed = late.join("lobby", since=seen[-1])
        assert [m["id"] for m in replayed["history"]] == ids[len(seen) :][: len(replayed["history"])]
        assert replayed["history"]
    finally:
        sender.close()
        silent.close()
        if late is not None:
            late.close()


def test_a_client_that_stops_answering_pings_is_closed_and_leaves_the_room(start_gateway):
    # The ghost never answers a ping: it is gone 4 to 6 s after it connected, time enough to join.
    gateway = start_gateway(
        GATEWAY_PROFILE="worker-role", GATEWAY_PING_INTERVAL="2", GATEWAY_PING_TIMEOUT="2"
    )
    ghost = raw_websocket(gateway.url)
    join_raw(ghost, "lobby", "ghost")
    watcher = ChatUser(gateway.url, name="watcher")
    try:
        watcher.join("lobby")
        wait_for(lambda: sorted(watcher.presence.get("lobby", [])) == ["ghost", "watcher"])
        started = time.monotonic()
        # The ghost reads nothing and answers no ping from here on.
        wait_for(lambda: watcher.presence.get("lobby") == ["watcher"], seconds=15)
        # It answers no close frame either (read raw, unanswered): the server hangs up on its own.
        ghost.sock.settimeout(15)
        received = b""
        while chunk := ghost.sock.recv(65536):
            received += chunk
        assert received.endswith(b"\x88\x02\x03\xe8")  # the last frame: close, code 1000
        assert time.monotonic() - started < 20
        assert watcher.hello() == "Hello back!"
    finally:
        watcher.close()
        ghost.close()


def test_an_upgrade_that_never_sends_its_probe_is_hung_up(start_gateway):
    gateway = start_gateway(
        GATEWAY_PROFILE="worker-role", GATEWAY_PING_INTERVAL="1", GATEWAY_PING_TIMEOUT="1"
    )
    sid = handshake(gateway.url)["sid"]
    silent = websocket.create_connection(
        f"ws://127.0.0.1:{gateway.port}/socket.io/?EIO=4&transport=websocket&sid={sid}", timeout=15
    )
    started = time.monotonic()
    assert silent.sock.recv(1) == b""  # hung up after ping interval + ping timeout, not held forever
    assert time.monotonic() - started < 10
    silent.close()


def test_a_session_upgraded_from_polling_ends_with_no_http_after_its_websocket(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    sid = handshake(gateway.url)["sid"]
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{gateway.port}/socket.io/?EIO=4&transport=websocket&sid={sid}", timeout=10
    )
    ws.send("2probe")
    assert ws.recv() == "3probe"
    ws.send("5")  # upgrade done: the session is on this WebSocket
    ws.send("40")
    assert next_frame(ws).startswith("40")  # after the noop that ended the long-poll, if none was in flight
    ws.send('42["sendMessage",{"message":"hi"}]')
    assert ws.recv() == '42["helloBack",{"message":"Hello back!"}]'
    ws.send_close()
    assert ws.recv_data(control_frame=True)[0] == websocket.ABNF.OPCODE_CLOSE
    ws.sock.settimeout(10)
    # websocket-client answers the server's close frame with a second one of its own; arriving
    # after the server hung up, it draws a reset, which ends the stream as well as a FIN does.
    try:
        after = ws.sock.recv(1)
    except ConnectionResetError:
        after = b""
    assert after == b""  # hung up: no HTTP response written into the socket


def test_an_upgrade_sent_in_one_write_ends_the_long_poll_and_keeps_the_session(start_gateway):
    """A client that sends its probe and its upgrade packet at once, with a long-poll in flight."""
    gateway = start_gateway(
        GATEWAY_PROFILE="worker-role", GATEWAY_PING_INTERVAL="2", GATEWAY_PING_TIMEOUT="2"
    )
    sid = handshake(gateway.url)["sid"]
    long_poll: dict = {}

    def poll() -> None:
        started = time.monotonic()
        long_poll["answer"] = get(gateway.url, f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        long_poll["seconds"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)  # the long-poll is parked on the server
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{gateway.port}/socket.io/?EIO=4&transport=websocket&sid={sid}", timeout=10
    )
    probe = websocket.ABNF.create_frame("2probe", websocket.ABNF.OPCODE_TEXT).format()
    upgrade = websocket.ABNF.create_frame("5", websocket.ABNF.OPCODE_TEXT).format()
    ws.sock.sendall(probe + upgrade)
    assert ws.recv() == "3probe"
    poller.join(10)
    assert long_poll["answer"] == (200, "6")  # ended at once by the upgrade's noop
    assert long_poll["seconds"] < 2
    ws.send("40")
    assert next_frame(ws).startswith("40")
    # Past ping interval + ping timeout, answering pings: where the stranded long-poll closed it.
    deadline = time.monotonic() + 5
    ws.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        assert frame == "2", f"the session ended: {frame!r}"
        ws.send("3")
    ws.settimeout(10)
    ws.send('42["sendMessage",{"message":"hi"}]')
    assert next_event_frame(ws) == '42["helloBack",{"message":"Hello back!"}]'
    ws.close()
