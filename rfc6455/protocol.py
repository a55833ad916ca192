"""A sans-I/O RFC 6455 server protocol: bytes in, events and bytes out; no sockets, timers or logs.

Modelled on the ``websockets`` library's ``protocol.py``, so every refusal can be tested by feeding
bytes (tests/unit/test_rfc6455_protocol.py) and the gevent driver (rfc6455/connection.py) is only
I/O. One difference from ``websockets``: frames are parsed when events are asked for
(``next_event()``/``events_received()``), not in ``receive_data()``. A driver that handles each
message before asking for the next therefore writes its replies before a pong or close frame that
a later frame in the same read provokes, in stream order, and a refusal is decided only once the
messages before it were delivered.

What it enforces (close code in brackets): reserved bits, unmasked client frames, unknown opcodes,
long or fragmented control frames, continuations without a message, a new message inside one,
64-bit lengths with the top bit set, one-byte close payloads and invalid close codes [1002]; text
or close reasons that are not UTF-8 [1007]; messages over ``max_message_bytes`` [1009], decided
from the frame header, with the payload skipped, never buffered. Every data frame counts at least
``MIN_FRAME_CHARGE`` bytes toward that limit, so a flood of empty continuations is refused too.

Hot path: one complete single-frame message costs one header decode, two slices and one
big-integer XOR (the unmask); no per-byte loops and no generators.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rfc6455.frames import (
    BINARY,
    CLOSE,
    INVALID_FRAME_DATA,
    MESSAGE_TOO_BIG,
    NORMAL_CLOSURE,
    PING,
    PONG,
    PROTOCOL_ERROR,
    TEXT,
    VALID_CLOSE_CODES,
    close_payload,
    frame,
    unmask,
)

#: Every data frame counts at least this many bytes toward ``max_message_bytes``: without it five
#: million empty continuation frames were one endless "message" of 0 bytes. Not higher: a 3 KB
#: message in 7-byte fragments must still fit a 4 KB limit (tests/test_inline_websocket.py).
MIN_FRAME_CHARGE = 8
#: At most this many skipped bytes are suggested per read (``bytes_needed``) while a refused or
#: unwanted payload is dropped.
SKIP_READ_BYTES = 65536


class State(enum.Enum):
    """OPEN: messages flow. CLOSING: our close frame is out, theirs awaited. CLOSED: done."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


OPEN, CLOSING, CLOSED = State.OPEN, State.CLOSING, State.CLOSED


@dataclass(frozen=True, slots=True)
class Close:
    """A close frame: the client's (an event) or ours (``close_sent``, ``failure``)."""

    code: int
    reason: str = ""


#: What ``next_event()`` yields: a whole text message, a whole binary message, or the client's close.
Event = str | bytes | Close


class InvalidState(Exception):
    """A message or close frame asked for after our close frame was sent."""


class ServerProtocol:
    """The server side of one WebSocket after its handshake."""

    __slots__ = (
        "max_message_bytes",
        "state",
        "close_sent",
        "close_received",
        "failure",
        "bytes_needed",
        "_wanted",
        "_buffer",
        "_chunks",
        "_chunked",
        "_skip",
        "_outgoing",
        "_message_opcode",
        "_parts",
        "_size",
    )

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.state = OPEN
        #: Our close frame once it is queued; the client's once it arrived; why we failed, if we did.
        self.close_sent: Close | None = None
        self.close_received: Close | None = None
        self.failure: Close | None = None
        #: A hint for the driver's next read: bytes still missing before the parser can go on.
        self.bytes_needed = 2
        self._wanted = 2  # bytes from the buffer's start that the frame there needs
        self._buffer = b""  # unparsed input; starts at a frame boundary
        self._chunks: list[bytes] = []  # input behind _buffer, joined once the frame is complete
        self._chunked = 0
        self._skip = 0  # input bytes still to drop (a refused or unwanted payload)
        self._outgoing: list[bytes] = []
        self._message_opcode: int | None = None  # TEXT or BINARY while a fragmented message is open
        # Its payload so far: one bytearray, as a list of parts would let empty frames grow memory.
        self._parts: bytearray | None = None
        self._size = 0  # its size as charged against max_message_bytes

    # --- bytes in --------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Take bytes read from the client; ``next_event()`` parses them."""
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip :]
            self._skip = 0
        if self.state is CLOSED:
            return
        buffer = self._buffer
        if not buffer and not self._chunked:
            self._buffer = data
            return
        # Keep pieces of a large frame apart until it is whole: joining at every read is quadratic.
        self._chunks.append(data)
        self._chunked += len(data)
        if len(buffer) + self._chunked >= self._wanted:
            self._join()

    def receive_eof(self) -> None:
        """The client closed its side of the TCP connection: nothing more will be parsed."""
        self.state = CLOSED
        self._drop_input()

    def has_unparsed_input(self) -> bool:
        """True if bytes are buffered that the next ``next_event()`` reads without new input."""
        return bool(self._buffer)

    # --- events out ------------------------------------------------------------------------

    def events_received(self) -> list[Event]:
        """Every event the buffered input completes (as in ``websockets``)."""
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def next_event(self) -> Event | None:
        """The next whole message or the client's close; None when more input is needed (or none
        will be parsed: after a close or EOF). Pongs, close answers and refusals are queued for
        ``data_to_send()`` as their frames are reached.
        """
        while True:
            buffer = self._buffer
            available = len(buffer)
            if available < 2:
                if self._need(2):
                    continue
                return None
            first = buffer[0]
            second = buffer[1]
            if first & 0x70 or not second & 0x80:
                self._refuse_header(first)
                continue
            opcode = first & 0x0F
            length = second & 0x7F
            if opcode & 0x08:
                if opcode > PONG:
                    self._abort(PROTOCOL_ERROR, f"protocol_error: unknown opcode {opcode}")
                    continue
                if length > 125 or not first & 0x80:
                    self._abort(PROTOCOL_ERROR, "protocol_error: control frames are short and unfragmented")
                    continue
                end = 6 + length
                if available < end:
                    if self._need(end):
                        continue
                    return None
                self._buffer = buffer[end:]
                event = self._control(opcode, unmask(buffer[6:end], buffer[2:6]))
                if event is not None:
                    return event
                continue
            if opcode > BINARY:
                self._abort(PROTOCOL_ERROR, f"protocol_error: unknown opcode {opcode}")
                continue
            if length < 126:
                start = 6
            elif length == 126:
                if available < 4:
                    if self._need(4):
                        continue
                    return None
                length = (buffer[2] << 8) | buffer[3]
                start = 8
            else:
                if available < 10:
                    if self._need(10):
                        continue
                    return None
                length = int.from_bytes(buffer[2:10], "big")
                if length >> 63:
                    self._abort(PROTOCOL_ERROR, "protocol_error: frame length out of range")
                    continue
                start = 14
            end = start + length
            if self.close_sent is not None:  # closing: what still comes is dropped unread
                self._skip_frame(end)
                self._reset_message()
                continue
            if opcode:
                if self._message_opcode is not None:
                    self.fail(PROTOCOL_ERROR, "protocol_error: new message before the last one ended")
                    continue
            elif self._message_opcode is None:
                self.fail(PROTOCOL_ERROR, "protocol_error: continuation frame without a message")
                continue
            size = self._size + (length if length > MIN_FRAME_CHARGE else MIN_FRAME_CHARGE)
            if size > self.max_message_bytes:
                self._skip_frame(end)  # from its header: the payload is never held
                self.fail(MESSAGE_TOO_BIG, f"too_large: message over {self.max_message_bytes} bytes")
                continue
            if available < end:
                if self._need(end):
                    continue
                return None
            self._buffer = buffer[end:] if available > end else b""
            if length:  # unmask (frames.unmask, inlined: this runs for every message)
                payload = (
                    int.from_bytes(buffer[start:end], "little")
                    ^ int.from_bytes((buffer[start - 4 : start] * ((length >> 2) + 1))[:length], "little")
                ).to_bytes(length, "little")
            else:
                payload = b""
            if first & 0x80:
                if opcode:  # a whole message in one frame: the common case
                    if opcode == BINARY:
                        return payload
                    try:
                        return payload.decode("utf-8")
                    except UnicodeDecodeError:
                        self.fail(INVALID_FRAME_DATA, "malformed_text: text message is not UTF-8")
                        continue
                message = self._last_fragment(payload)
                if message is not None:
                    return message
                continue
            if opcode:
                self._message_opcode = opcode
                self._parts = bytearray(payload)
            else:
                self._parts += payload  # type: ignore[operator]  # set with _message_opcode
            self._size = size

    # --- bytes out -------------------------------------------------------------------------

    def data_to_send(self) -> list[bytes]:
        """Frames queued since the last call, in order, to be written as they are."""
        outgoing = self._outgoing
        if not outgoing:
            return []
        self._outgoing = []
        return outgoing

    def has_data_to_send(self) -> bool:
        """True if frames are queued: a cheap test before ``data_to_send()``."""
        return bool(self._outgoing)

    def send_text(self, text: str) -> None:
        """Queue a text message."""
        if self.close_sent is not None:
            raise InvalidState("the close frame was sent")
        self._outgoing.append(frame(TEXT, text.encode()))

    def send_binary(self, data: bytes) -> None:
        """Queue a binary message."""
        if self.close_sent is not None:
            raise InvalidState("the close frame was sent")
        self._outgoing.append(frame(BINARY, data))

    def send_ping(self, data: bytes = b"") -> None:
        """Queue a ping (at most 125 bytes)."""
        if self.close_sent is not None:
            raise InvalidState("the close frame was sent")
        self._outgoing.append(frame(PING, data[:125]))

    def send_close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Queue our close frame (once); messages from the client are dropped from now on."""
        if self.close_sent is not None:
            raise InvalidState("the close frame was sent")
        self.close_sent = Close(code, reason)
        self._outgoing.append(frame(CLOSE, close_payload(code, reason)))
        if self.state is OPEN:
            self.state = CLOSING
        self._reset_message()

    def fail(self, code: int, reason: str) -> None:
        """Refuse the client: close with ``code`` (if ours is not out yet), then only await theirs.

        Reasons start with a stable word (``protocol_error:``, ``too_large:``, ``malformed_text:``)
        that a client or a log search can match. If our close frame was already sent, the
        connection is over at once.
        """
        if self.failure is None:
            self.failure = Close(code, reason)
        if self.close_sent is None:
            self.send_close(code, reason)
        else:
            self.state = CLOSED
            self._drop_input()
        self._reset_message()

    # --- internals -------------------------------------------------------------------------

    def _control(self, opcode: int, payload: bytes) -> Close | None:
        if opcode == PING:
            if self.close_sent is None:
                self._outgoing.append(frame(PONG, payload))
        elif opcode == CLOSE:
            if len(payload) == 1:
                self.fail(PROTOCOL_ERROR, "protocol_error: close frame with a one-byte payload")
                return None
            code = int.from_bytes(payload[:2], "big") if payload else NORMAL_CLOSURE
            if code not in VALID_CLOSE_CODES:
                self.fail(PROTOCOL_ERROR, f"protocol_error: invalid close code {code}")
                return None
            try:
                reason = payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                self.fail(INVALID_FRAME_DATA, "malformed_text: close reason is not UTF-8")
                return None
            received = self.close_received = Close(code, reason)
            if self.close_sent is None:
                self.send_close(code)  # the answer, with their code
            self.state = CLOSED
            self._drop_input()
            self._reset_message()
            return received
        # a pong needs nothing: python-engineio's own Engine.IO ping keeps the session alive
        return None

    def _abort(self, code: int, reason: str) -> None:
        """Fail on a frame whose boundaries can no longer be trusted: nothing after it is parsed,
        not even the client's close (there is no telling where it starts)."""
        self.fail(code, reason)
        self.state = CLOSED
        self._drop_input()

    def _refuse_header(self, first: int) -> None:
        if first & 0x70:
            self._abort(PROTOCOL_ERROR, "protocol_error: reserved bits set (no extension was negotiated)")
        else:
            self._abort(PROTOCOL_ERROR, "protocol_error: client frames must be masked")

    def _last_fragment(self, payload: bytes) -> str | bytes | None:
        parts = self._parts
        opcode = self._message_opcode
        self._reset_message()
        parts += payload  # type: ignore[operator]  # a continuation needs an open message
        if opcode == BINARY:
            return bytes(parts)  # type: ignore[arg-type]
        try:
            return parts.decode("utf-8")  # type: ignore[union-attr]
        except UnicodeDecodeError:
            self.fail(INVALID_FRAME_DATA, "malformed_text: text message is not UTF-8")
            return None

    def _reset_message(self) -> None:
        self._message_opcode = None
        self._parts = None
        self._size = 0

    def _need(self, n: int) -> bool:
        """The frame at the buffer's start needs n bytes: join pieces if they suffice (True), else
        note how many are missing and report False."""
        have = len(self._buffer) + self._chunked
        if have >= n:
            if self._chunked:
                self._join()
                return True
            return False  # unreachable: callers ask only when the buffer is short
        if self.state is CLOSED:
            self.bytes_needed = 0
            return False
        self._wanted = n
        self.bytes_needed = n - have + min(self._skip, SKIP_READ_BYTES)
        return False

    def _join(self) -> None:
        self._buffer = b"".join([self._buffer, *self._chunks])
        self._chunks.clear()
        self._chunked = 0

    def _skip_frame(self, end: int) -> None:
        """Drop the frame that ends ``end`` bytes into the input: what is here now, the rest as it
        comes."""
        if self._chunked:
            self._join()
        available = len(self._buffer)
        if available >= end:
            self._buffer = self._buffer[end:]
        else:
            self._buffer = b""
            self._skip += end - available

    def _drop_input(self) -> None:
        self._buffer = b""
        self._chunks.clear()
        self._chunked = 0
        self._skip = 0
        self.bytes_needed = 0
