"""What python-engineio's decoders would choke on is found before they see it (seam/packets.py)."""

import pytest

from seam.packets import MAX_DECODE_PACKETS, PACKET_SEPARATOR, polling_payload_problem, valid_engineio_frame


@pytest.mark.parametrize("frame", ["2", "3", '42["join",{}]', "5", "6", b"\x00\x01", b""])
def test_frames_a_client_may_send(frame):
    assert valid_engineio_frame(frame)


@pytest.mark.parametrize("frame", ["", "0", "7", "x", '{"a":1}'])
def test_frames_engineio_cannot_decode(frame):
    assert not valid_engineio_frame(frame)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"2", "is not an Engine.IO packet a client sends over polling"),
        (b"6", "is not an Engine.IO packet a client sends over polling"),
        (b"zz", "is not an Engine.IO packet"),
        (b"bA", "not valid base64"),
        (PACKET_SEPARATOR.join(["3"] * (MAX_DECODE_PACKETS + 1)).encode(), "more than"),
    ],
)
def test_polling_payloads_that_are_refused_say_why(body, problem):
    assert problem in polling_payload_problem(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"3",
        b'42["message",{"room":"a"}]',
        ("3" + PACKET_SEPARATOR + '42["x"]').encode(),
        b"bAAEC",
        b"d=3",
    ],
)
def test_polling_payloads_that_decode(body):
    assert polling_payload_problem(body) is None


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        ["event", {"message": "hi"}],
        ["event", {"nested": [1, 2.5, True, None, {"deep": b"bytes"}]}],
        ["event", bytearray(b"raw")],
        ["event", 2**70],  # orjson refuses it: the walk decides
        ["event", {"big": 2**70, "blob": b"x"}],
        {1: "non-string key"},
    ],
)
def test_checked_packets_find_bytes_as_python_socketio_does(data):
    from socketio.packet import Packet

    from seam.server import CheckedPacket

    assert CheckedPacket.data_is_binary(data) is Packet.data_is_binary(data)
