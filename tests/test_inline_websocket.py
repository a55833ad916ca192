"""The inline WebSocket driver (seam/inline_ws.py) against a real gunicorn gateway.

It parses frames itself, so what wsproto did for simple-websocket is checked here on the wire:
fragmented messages, pings, the closing handshake, the size limit across fragments (refused
before the payload arrives), and text that is not UTF-8.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import websocket
from chat_client import ChatUser
from conftest import Gateway, procfile_command
from websocket import ABNF
from wire import close_code, next_event, raw_websocket

MAX_BYTES = 4096
HELLO = '42["sendMessage",{"message":"hi"}]'


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"GATEWAY_WEBSOCKET_DRIVER": "inline", "GATEWAY_MAX_MESSAGE_BYTES": str(MAX_BYTES)}
    server = Gateway(procfile_command(), env, tmp_path_factory.mktemp("inline-ws"))
    yield server
    server.stop()


def server_hung_up(ws: websocket.WebSocket) -> bool:
    """The server closed the TCP connection after the closing handshake."""
    ws.sock.settimeout(10)
    try:
        return ws.sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_round_trip_and_a_message_in_three_fragments(gateway):
    ws = raw_websocket(gateway.url)
    ws.send(HELLO)
    assert next_event(ws, "helloBack")[1] == {"message": "Hello back!"}
    ws.send_frame(ABNF.create_frame(HELLO[:5], ABNF.OPCODE_TEXT, fin=0))
    ws.send_frame(ABNF.create_frame(HELLO[5:20], ABNF.OPCODE_CONT, fin=0))
    ws.ping(b"between fragments")  # a control frame may come between fragments
    ws.send_frame(ABNF.create_frame(HELLO[20:], ABNF.OPCODE_CONT, fin=1))
    opcode, data = ws.recv_data(control_frame=True)
    assert (opcode, data) == (ABNF.OPCODE_PONG, b"between fragments")
    assert next_event(ws, "helloBack")[1] == {"message": "Hello back!"}
    ws.close()


def test_a_large_message_in_many_frames_arrives_whole(gateway):
    ws = raw_websocket(gateway.url)
    text = "é" * 1500  # 3,000 bytes of UTF-8, split inside characters
    message = f'42["sendMessage",{{"message":"{text}"}}]'.encode()
    pieces = [message[i : i + 7] for i in range(0, len(message), 7)]
    for index, piece in enumerate(pieces):
        opcode = ABNF.OPCODE_TEXT if index == 0 else ABNF.OPCODE_CONT
        ws.send_frame(ABNF.create_frame(piece, opcode, fin=int(index == len(pieces) - 1)))
    assert next_event(ws, "helloBack")[1] == {"message": "Hello back!"}
    ws.close()


def test_ping_gets_a_pong_with_its_payload(gateway):
    ws = raw_websocket(gateway.url)
    ws.ping(b"are you there")
    assert ws.recv_data(control_frame=True) == (ABNF.OPCODE_PONG, b"are you there")
    ws.close()


def test_client_close_is_answered_then_the_server_hangs_up(gateway):
    ws = raw_websocket(gateway.url)
    ws.send_close(1001, b"going away")
    assert close_code(ws) == 1001
    assert server_hung_up(ws)


def test_engineio_close_packet_gets_a_close_frame_from_the_server(gateway):
    ws = raw_websocket(gateway.url)
    ws.send("1")  # Engine.IO close: the server ends the session and starts the closing handshake
    assert close_code(ws) == 1000  # websocket-client answers it
    assert server_hung_up(ws)


def test_oversized_fragmented_message_is_refused_with_1009_before_its_payload(gateway):
    ws = raw_websocket(gateway.url)
    ws.send_frame(ABNF.create_frame("4" + "x" * 3000, ABNF.OPCODE_TEXT, fin=0))
    # A continuation that would take the message over the limit: only its header is sent.
    header = ABNF.create_frame("y" * 2000, ABNF.OPCODE_CONT, fin=1).format()[:8]
    ws.sock.sendall(header)
    started = time.monotonic()
    assert close_code(ws) == 1009
    assert time.monotonic() - started < 5
    ws.close()


def test_single_oversized_frame_is_refused_with_1009(gateway):
    ws = raw_websocket(gateway.url)
    ws.send("4" + "x" * (MAX_BYTES + 1))
    assert close_code(ws) == 1009
    ws.close()


def test_text_that_is_not_utf8_is_refused_with_1007(gateway):
    ws = raw_websocket(gateway.url)
    ws.send_frame(ABNF.create_frame(b"4\xff\xfe not utf-8", ABNF.OPCODE_TEXT))
    assert close_code(ws) == 1007
    ws.close()


def test_unmasked_frame_is_a_protocol_error_1002(gateway):
    ws = raw_websocket(gateway.url)
    ws.sock.sendall(b"\x81\x02" + b"41")  # text "41", no mask: clients must mask
    assert close_code(ws) == 1002
    ws.close()


def test_vanished_clients_leave_the_others_unharmed(gateway):
    for _ in range(5):
        raw = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
        ws = raw_websocket(gateway.url)
        ws.send_frame(ABNF.create_frame("4" + "x" * 100, ABNF.OPCODE_TEXT, fin=0))
        ws.sock.close()  # gone in the middle of a message, without a close frame
        raw.close()
    user = ChatUser(gateway.url, name="after")
    try:
        assert user.hello() == "Hello back!"
    finally:
        user.close()
    assert "Traceback" not in gateway.log()


def test_python_app_py_uses_the_inline_driver_too(start_gateway):
    gateway = start_gateway(
        command="python app.py", GATEWAY_WEBSOCKET_DRIVER="inline", GATEWAY_MAX_MESSAGE_BYTES=str(MAX_BYTES)
    )
    ws = raw_websocket(gateway.url)
    ws.send(HELLO)
    assert next_event(ws, "helloBack")[1] == {"message": "Hello back!"}
    ws.send("4" + "x" * (MAX_BYTES + 1))
    assert close_code(ws) == 1009
    ws.close()
    assert "Traceback" not in gateway.log()


@pytest.mark.parametrize("driver", ["simple-websocket", "inline"])
def test_either_driver_chats_and_refuses_what_guard_refuses(start_gateway, driver):
    """Both drivers chat, and the guard's 1009 and 1007 hold for both."""
    gateway = start_gateway(GATEWAY_WEBSOCKET_DRIVER=driver, GATEWAY_MAX_MESSAGE_BYTES=str(MAX_BYTES))
    ws = raw_websocket(gateway.url)
    ws.send(HELLO)
    assert next_event(ws, "helloBack")[1] == {"message": "Hello back!"}
    ws.send("4" + "x" * (MAX_BYTES + 1))
    assert close_code(ws) == 1009
    ws = raw_websocket(gateway.url)
    ws.send("x-not-a-packet")
    assert close_code(ws) == 1007
    assert "Traceback" not in gateway.log()
