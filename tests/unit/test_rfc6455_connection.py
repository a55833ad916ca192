"""The gevent connection (rfc6455/connection.py) over a socket pair: no server.

What only the driver does: returning messages from ``wait()``, writing the protocol's frames in
stream order, closing with a refusal's code, and yielding between pipelined messages.
"""

from __future__ import annotations

import gevent
from gevent import socket

from rfc6455.connection import InlineWebSocket
from rfc6455.frames import CLOSE, CONTINUATION, PING, PONG, TEXT
from unit.test_rfc6455_protocol import MASK, client_frame, server_frames, text


def pair(max_bytes: int = 4096) -> tuple[InlineWebSocket, socket.socket]:
    server, client = socket.socketpair()
    client.settimeout(5)
    return InlineWebSocket(server, max_bytes), client


def read_frames(client: socket.socket, count: int) -> list[tuple[int, bytes]]:
    data = b""
    while True:
        try:
            frames = server_frames([data])
            if len(frames) >= count:
                return frames
        except (AssertionError, IndexError):
            pass
        data += client.recv(65536)


def test_messages_pong_and_reply_come_in_stream_order():
    ws, client = pair()
    client.sendall(
        text("he", fin=False) + client_frame(PING, b"p") + client_frame(CONTINUATION, b"llo") + text("two")
    )
    assert ws.wait() == "hello"
    ws.send("reply")  # the pong, queued while parsing, goes out before it
    assert ws.wait() == "two"
    assert read_frames(client, 2) == [(PONG, b"p"), (TEXT, b"reply")]


def test_oversized_message_is_closed_with_1009_and_its_reason():
    ws, client = pair()
    header = text("x" * 5000)[:8]  # the header only: refused before the payload is sent
    client.sendall(text("ok") + header)
    assert ws.wait() == "ok"
    waiter = gevent.spawn(ws.wait)
    [(opcode, payload)] = read_frames(client, 1)
    assert opcode == CLOSE and payload == b"\x03\xf1too_large: message over 4096 bytes"
    client.sendall(b"x" * 5000 + client_frame(CLOSE, b"\x03\xe8"))  # dropped, then the answer
    assert waiter.get(timeout=5) is None and not ws.connected


def test_client_close_is_answered_and_wait_returns_none():
    ws, client = pair()
    client.sendall(client_frame(CLOSE, (1001).to_bytes(2, "big") + b"bye"))
    assert ws.wait() is None and not ws.connected
    assert read_frames(client, 1) == [(CLOSE, (1001).to_bytes(2, "big"))]
    try:
        ws.send("late")
    except OSError:
        pass
    else:
        raise AssertionError("send after the close must raise OSError")


def test_eof_makes_wait_return_none():
    ws, client = pair()
    client.sendall(text("last")[:4])
    client.close()
    assert ws.wait() is None and not ws.connected


def test_a_flooding_connection_lets_another_one_through():
    """Pipelined messages need no recv, so without a yield the other connection waits for all."""
    flooder, flood_client = pair(max_bytes=1_000_000)
    other, other_client = pair()
    order: list[str] = []
    flood_client.sendall(client_frame(TEXT, b"f", mask=MASK) * 2000)  # 12 KB: one recv

    def read(ws: InlineWebSocket, count: int, name: str) -> None:
        for _ in range(count):
            assert ws.wait() is not None
            order.append(name)

    flooding = gevent.spawn(read, flooder, 2000, "flood")
    gevent.sleep(0)  # the flooder has started and holds its whole backlog
    other_client.sendall(text("hi"))
    reading = gevent.spawn(read, other, 1, "other")
    gevent.joinall([flooding, reading], timeout=10, raise_error=True)
    assert order.index("other") < 20


def received_without_yielding(client: socket.socket) -> bytes | None:
    """What the client can read now, without letting gevent's loop run (None: nothing yet)."""
    client.settimeout(0)  # gevent raises at once instead of waiting, so the pass does not end
    try:
        return client.recv(1 << 20)
    except BlockingIOError:
        return None
    finally:
        client.settimeout(5)


def test_frames_of_one_pass_leave_together_in_order_and_a_large_pass_sends_as_it_goes():
    from rfc6455.connection import PENDING_SEND_BYTES

    ws, client = pair(max_bytes=1_000_000)
    for i in range(50):
        ws.send(f"m{i}")
    assert received_without_yielding(client) is None  # held until this pass of the loop ends
    assert [payload for _, payload in read_frames(client, 50)] == [f"m{i}".encode() for i in range(50)]

    chunk = "x" * 1000
    for _ in range(2 * PENDING_SEND_BYTES // len(chunk)):
        ws.send(chunk)
    # Still in the same pass: what went over the bound is on its way already.
    assert received_without_yielding(client)
