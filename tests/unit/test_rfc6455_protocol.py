"""The sans-I/O RFC 6455 protocol (rfc6455/protocol.py), fed raw bytes: no server, no socket.

Every refusal the gevent driver relies on is checked here with its close code; the end-to-end
tests (tests/test_inline_websocket.py) check a few of them again on the wire.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfc6455.frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    VALID_CLOSE_CODES,
    accept_key,
    frame,
    unmask,
)
from rfc6455.protocol import (
    CLOSED,
    CLOSING,
    MIN_FRAME_CHARGE,
    OPEN,
    Close,
    InvalidState,
    ServerProtocol,
)

MAX = 4096
MASK = b"\x37\xfa\x21\x3d"


def client_frame(
    opcode: int, payload: bytes = b"", fin: bool = True, mask: bytes | None = MASK, rsv: int = 0
) -> bytes:
    """A client frame, masked by a per-byte XOR (independent of the protocol's big-int trick)."""
    first = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        header = bytes((first, mask_bit | n))
    elif n < 65536:
        header = bytes((first, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, mask_bit | 127)) + n.to_bytes(8, "big")
    if mask is None:
        return header + payload
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text(message: str, **kwargs) -> bytes:
    return client_frame(TEXT, message.encode(), **kwargs)


def close(code: int | None = 1000, reason: bytes = b"") -> bytes:
    return client_frame(CLOSE, b"" if code is None else code.to_bytes(2, "big") + reason)


def server_frames(data: list[bytes]) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked, final frame the server queued."""
    stream = b"".join(data)
    frames = []
    while stream:
        assert stream[0] & 0xF0 == 0x80 and not stream[1] & 0x80  # final, unmasked, no RSV bits
        n, start = stream[1], 2
        if n == 126:
            n, start = int.from_bytes(stream[2:4], "big"), 4
        elif n == 127:
            n, start = int.from_bytes(stream[2:10], "big"), 10
        frames.append((stream[0] & 0x0F, stream[start : start + n]))
        stream = stream[start + n :]
    return frames


def close_sent(protocol: ServerProtocol) -> tuple[int, str]:
    """The one frame queued must be a close frame: its code and reason."""
    [(opcode, payload)] = server_frames(protocol.data_to_send())
    assert opcode == CLOSE
    return int.from_bytes(payload[:2], "big"), payload[2:].decode()


def feed(data: bytes, max_bytes: int = MAX) -> tuple[ServerProtocol, list]:
    protocol = ServerProtocol(max_bytes)
    protocol.receive_data(data)
    return protocol, protocol.events_received()


# --- messages ---------------------------------------------------------------------------------


def test_text_binary_and_empty_messages():
    protocol, events = feed(text("héllo") + client_frame(BINARY, b"\x00\xff") + text(""))
    assert events == ["héllo", b"\x00\xff", ""]
    assert protocol.data_to_send() == [] and protocol.state is OPEN


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 70000])
def test_16_and_64_bit_lengths(size):
    payload = os.urandom(size)
    _, events = feed(client_frame(BINARY, payload), max_bytes=100_000)
    assert events == [payload]


def test_fragments_with_a_ping_between_them_make_one_message_and_a_pong():
    stream = (
        text("he", fin=False)
        + client_frame(PING, b"between fragments")
        + client_frame(CONTINUATION, b"ll", fin=False)
        + client_frame(CONTINUATION, b"o", fin=True)
    )
    protocol, events = feed(stream)
    assert events == ["hello"]
    assert server_frames(protocol.data_to_send()) == [(PONG, b"between fragments")]


def test_utf8_split_inside_a_character_across_fragments():
    data = "é".encode()
    stream = client_frame(TEXT, data[:1], fin=False) + client_frame(CONTINUATION, data[1:])
    assert feed(stream)[1] == ["é"]


def test_byte_by_byte_gives_the_same_events_and_output():
    stream = (
        text("one")
        + client_frame(BINARY, b"x" * 300, fin=False)
        + client_frame(PING, b"p")
        + client_frame(CONTINUATION, b"y" * 70000)
        + text("two")
        + close(1001, b"bye")
    )
    whole, whole_events = feed(stream, max_bytes=100_000)
    piecewise = ServerProtocol(100_000)
    events = []
    for byte in stream:
        piecewise.receive_data(bytes((byte,)))
        events += piecewise.events_received()
    assert events == whole_events == ["one", b"x" * 300 + b"y" * 70000, "two", Close(1001, "bye")]
    assert piecewise.data_to_send() == whole.data_to_send()


def test_input_stays_in_order_when_events_are_read_one_at_a_time():
    """Bytes held back while a large frame was incomplete stay behind what came before them."""
    big, b, c, d, e = text("a" * 200), text("b"), text("c"), text("d"), text("e")
    protocol = ServerProtocol(MAX)
    protocol.receive_data(big[:8])
    assert protocol.next_event() is None  # now waiting for the whole 200-byte frame
    protocol.receive_data(big[8:] + b + c)
    assert protocol.next_event() == "a" * 200
    protocol.receive_data(d)  # read before "b" and "c" were taken
    assert [protocol.next_event(), protocol.next_event()] == ["b", "c"]
    protocol.receive_data(e)
    assert protocol.events_received() == ["d", "e"]


def test_messages_before_a_bad_frame_come_out_before_the_refusal():
    protocol = ServerProtocol(MAX)
    protocol.receive_data(text("first") + text("second", mask=None))
    assert protocol.next_event() == "first"
    protocol.send_text("reply")  # the driver answers before the next frame is parsed
    assert protocol.next_event() is None
    frames = server_frames(protocol.data_to_send())
    assert frames[0] == (TEXT, b"reply") and frames[1][0] == CLOSE


# --- refusals ---------------------------------------------------------------------------------


REFUSALS = {
    "reserved bits": (text("x", rsv=0x40), 1002, "protocol_error: reserved bits"),
    "unmasked": (text("41", mask=None), 1002, "protocol_error: client frames must be masked"),
    "unknown data opcode": (client_frame(0x3, b"x"), 1002, "protocol_error: unknown opcode 3"),
    "unknown control opcode": (client_frame(0xB, b"x"), 1002, "protocol_error: unknown opcode 11"),
    "long control frame": (client_frame(PING, b"x" * 126), 1002, "protocol_error: control frames"),
    "fragmented control frame": (client_frame(PING, b"x", fin=False), 1002, "protocol_error: control"),
    "continuation without a message": (
        client_frame(CONTINUATION, b"x"),
        1002,
        "protocol_error: continuation frame without a message",
    ),
    "new message inside one": (
        text("a", fin=False) + text("b"),
        1002,
        "protocol_error: new message before the last one ended",
    ),
    "64-bit length with the top bit": (
        bytes((0x82, 0xFF)) + (1 << 63).to_bytes(8, "big") + MASK,
        1002,
        "protocol_error: frame length out of range",
    ),
    "oversized frame": (text("x" * (MAX + 1)), 1009, f"too_large: message over {MAX} bytes"),
    "oversized fragments": (
        text("x" * 3000, fin=False) + client_frame(CONTINUATION, b"y" * 2000),
        1009,
        "too_large:",
    ),
    "text not UTF-8": (client_frame(TEXT, b"4\xff\xfe"), 1007, "malformed_text: text message is not UTF-8"),
    "fragmented text not UTF-8": (
        client_frame(TEXT, b"\xe2\x82", fin=False) + client_frame(CONTINUATION, b"x"),
        1007,
        "malformed_text:",
    ),
    "one-byte close": (client_frame(CLOSE, b"\x03"), 1002, "protocol_error: close frame with a one-byte"),
    "close reason not UTF-8": (close(1000, b"\xff"), 1007, "malformed_text: close reason is not UTF-8"),
}


@pytest.mark.parametrize("stream, code, reason", REFUSALS.values(), ids=REFUSALS.keys())
def test_refusal(stream, code, reason):
    protocol, events = feed(stream)
    assert events == []
    assert close_sent(protocol) == (code, protocol.failure.reason)
    assert protocol.failure.code == code and protocol.failure.reason.startswith(reason)
    assert len(protocol.failure.reason.encode()) <= 123
    assert protocol.state in (CLOSING, CLOSED)
    with pytest.raises(InvalidState):
        protocol.send_text("too late")


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1012, 1015, 2000, 2999, 5000, 65535])
def test_invalid_close_codes_are_a_protocol_error(code):
    protocol, events = feed(close(code))
    assert events == []
    assert close_sent(protocol) == (1002, f"protocol_error: invalid close code {code}")


@pytest.mark.parametrize("code", sorted(VALID_CLOSE_CODES)[::97] + [1000, 1011, 3000, 4999])
def test_valid_close_codes_are_answered_with_the_same_code(code):
    protocol, events = feed(close(code, b"r"))
    assert events == [Close(code, "r")]
    assert close_sent(protocol) == (code, "")


def test_size_limit_is_decided_from_the_header_before_the_payload_arrives():
    protocol = ServerProtocol(MAX)
    whole = text("x" * 100_000)
    protocol.receive_data(whole[:14])  # the header (64-bit length) and its mask only
    assert protocol.events_received() == []
    assert close_sent(protocol)[0] == 1009
    for start in range(14, len(whole), 1000):  # the payload is dropped as it comes, never held
        protocol.receive_data(whole[start : start + 1000])
        assert protocol.events_received() == [] and not protocol.has_unparsed_input()
    protocol.receive_data(text("dropped while closing") + close(1000))
    assert protocol.events_received() == [Close(1000, "")]
    assert protocol.data_to_send() == [] and protocol.state is CLOSED


def test_a_flood_of_empty_continuation_frames_is_refused_with_1009():
    max_bytes = 1_000_000  # the default max_message_bytes
    protocol = ServerProtocol(max_bytes)
    protocol.receive_data(text("4", fin=False))
    chunk = client_frame(CONTINUATION, b"", fin=False) * 10_000
    sent = 0
    while protocol.failure is None and sent < 5_000_000:
        protocol.receive_data(chunk)
        assert protocol.events_received() == []
        sent += 10_000
    assert protocol.failure is not None and protocol.failure.code == 1009
    assert sent <= max_bytes // MIN_FRAME_CHARGE + 10_000
    assert close_sent(protocol)[0] == 1009


def test_small_fragments_within_the_limit_still_arrive_whole():
    """The e2e test's case: 3 KB of text in 7-byte fragments under a 4 KB limit."""
    message = ("4" + "é" * 1500).encode()
    pieces = [message[i : i + 7] for i in range(0, len(message), 7)]
    stream = b"".join(
        client_frame(TEXT if i == 0 else CONTINUATION, piece, fin=i == len(pieces) - 1)
        for i, piece in enumerate(pieces)
    )
    assert feed(stream)[1] == [message.decode()]


# --- closing ----------------------------------------------------------------------------------


def test_client_close_is_answered_and_ends_the_connection():
    protocol, events = feed(text("last") + close(1001, b"going away") + text("after"))
    assert events == ["last", Close(1001, "going away")]
    assert close_sent(protocol) == (1001, "")
    assert protocol.state is CLOSED and protocol.close_received == Close(1001, "going away")
    protocol.receive_data(text("ignored"))
    assert protocol.events_received() == []


def test_empty_close_payload_reads_and_is_answered_as_1000():
    protocol, events = feed(close(None))
    assert events == [Close(1000, "")]
    assert close_sent(protocol) == (1000, "")


def test_server_close_drops_messages_and_pings_until_the_clients_close():
    protocol = ServerProtocol(MAX)
    protocol.send_close(1000, "bye")
    assert close_sent(protocol) == (1000, "bye")
    assert protocol.state is CLOSING
    with pytest.raises(InvalidState):
        protocol.send_close()
    protocol.receive_data(text("dropped") + client_frame(PING, b"no pong") + text("x" * 10_000) + close(1000))
    assert protocol.events_received() == [Close(1000, "")]
    assert protocol.data_to_send() == []  # no pong and no second close frame
    assert protocol.state is CLOSED


def test_close_reason_is_cut_to_123_bytes_on_a_character_boundary():
    protocol = ServerProtocol(MAX)
    protocol.send_close(1000, "é" * 100)
    code, reason = close_sent(protocol)  # decodes: no half character at the end
    assert code == 1000 and len(reason.encode()) <= 123 and reason == "é" * 61


def test_fail_while_closing_ends_at_once():
    protocol = ServerProtocol(MAX)
    protocol.send_close()
    protocol.data_to_send()
    protocol.receive_data(text("x", rsv=0x10))
    assert protocol.events_received() == [] and protocol.data_to_send() == []
    assert protocol.state is CLOSED and protocol.failure.code == 1002


def test_eof_ends_parsing():
    protocol = ServerProtocol(MAX)
    protocol.receive_data(text("partial")[:5])
    protocol.receive_eof()
    assert protocol.events_received() == [] and protocol.state is CLOSED
    assert protocol.close_received is None and protocol.data_to_send() == []


# --- the codec ------------------------------------------------------------------------------


def test_codec():
    # RFC 6455 1.3's example key.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert unmask(unmask(b"hello world", MASK), MASK) == b"hello world"
    assert unmask(b"", MASK) == b""
    for n in (0, 125, 126, 65535, 65536):
        assert server_frames([frame(BINARY, b"z" * n)]) == [(BINARY, b"z" * n)]


# --- properties -----------------------------------------------------------------------------

messages = st.one_of(st.text(max_size=300), st.binary(max_size=300))


@st.composite
def valid_streams(draw) -> tuple[bytes, list]:
    """Masked frames of whole messages, each cut into fragments, with pings between frames."""
    stream = []
    expected: list = []
    for message in draw(st.lists(messages, max_size=6)):
        data = message.encode() if isinstance(message, str) else message
        cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        for index, piece in enumerate(pieces):
            opcode = (TEXT if isinstance(message, str) else BINARY) if index == 0 else CONTINUATION
            mask = draw(st.binary(min_size=4, max_size=4))
            stream.append(client_frame(opcode, piece, fin=index == len(pieces) - 1, mask=mask))
            if draw(st.booleans()):
                stream.append(client_frame(PING, draw(st.binary(max_size=125))))
        expected.append(message)
    return b"".join(stream), expected


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(valid=valid_streams(), data=st.data())
def test_any_chunking_of_a_valid_stream_gives_the_same_messages(valid, data):
    stream, expected = valid
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    protocol = ServerProtocol(MAX)
    events = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        protocol.receive_data(stream[a:b])
        # A caller may also read events only now and then, not always all of them.
        for _ in range(data.draw(st.integers(0, 3))):
            events.append(protocol.next_event())
        if data.draw(st.booleans()):
            events += protocol.events_received()
    events += protocol.events_received()
    events = [event for event in events if event is not None]
    assert events == expected
    assert all(opcode == PONG for opcode, _ in server_frames(protocol.data_to_send()))
    assert protocol.state is OPEN and protocol.failure is None


@st.composite
def frame_like(draw) -> bytes:
    """Bytes shaped like frames (masked, with plausible lengths), so parsing goes past the header."""
    first = draw(st.integers(0, 255))
    payload = draw(st.binary(max_size=200))
    raw = client_frame(first & 0x0F, payload, fin=bool(first & 0x80), rsv=first & 0x70)
    if draw(st.booleans()):
        return raw
    cut = draw(st.integers(0, len(raw)))
    return raw[:cut] + draw(st.binary(max_size=20))


def check_anything_goes(chunks: list[bytes], max_bytes: int) -> None:
    protocol = ServerProtocol(max_bytes)
    for chunk in chunks:
        protocol.receive_data(chunk)
        for event in protocol.events_received():
            assert isinstance(event, str | bytes | Close)
    closes = [payload for opcode, payload in server_frames(protocol.data_to_send()) if opcode == CLOSE]
    assert len(closes) <= 1
    for payload in closes:
        assert int.from_bytes(payload[:2], "big") in VALID_CLOSE_CODES
        payload[2:].decode()
    if protocol.failure is not None:
        assert protocol.failure.code in (1002, 1007, 1009)
        assert protocol.state is not OPEN


@settings(max_examples=300)
@given(chunks=st.lists(st.binary(max_size=64), max_size=8))
def test_arbitrary_bytes_never_raise(chunks):
    check_anything_goes(chunks, 64)


@settings(max_examples=300)
@given(chunks=st.lists(frame_like(), max_size=10), max_bytes=st.integers(1, 400))
def test_arbitrary_frames_never_raise(chunks, max_bytes):
    check_anything_goes(chunks, max_bytes)
