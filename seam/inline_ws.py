"""A WebSocket driver for python-engineio's gevent mode that reads frames in the handler greenlet.

simple-websocket (python-engineio's driver) runs a reader greenlet per WebSocket that wakes the
handler greenlet through an Event, and frames in pure-Python wsproto: with python-engineio's
writer greenlet that was three hand-offs per message and about 60% of WebSocket time under
py-spy, and a parked greenlet more per idle WebSocket (bench/RESULTS.md). Here ``wait()``
reads and parses frames on the socket itself, in the greenlet python-engineio calls it from,
and ``send()`` writes the frame directly. A write never blocks its caller: what the socket does
not take at once waits, in order, for one drain greenlet (seam/session.py sends replies and
broadcasts from the sender's own greenlet, and one slow receiver must not stall the others).

What the gateway relied on from simple-websocket is kept: a message larger than the limit is
refused with close 1009 from its frame header, before its payload is read; text that is not
UTF-8 is refused with 1007; ``close(code, reason)`` sends that code (seam/drivers.py uses it
for 1007); a client that goes away makes ``wait()`` return None. permessage-deflate is not
implemented: with ``websocket_compression`` on, simple-websocket is used (seam/drivers.py).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

import gevent

from ops import metrics

log = logging.getLogger("rolegate.transports")

#: Where serving/handler.py hands a WebSocket request's socket to the WebSocket driver. Not
#: ``gunicorn.socket``: python-engineio keeps a class object (2.8 KiB) in the environ of every
#: request with that key, for a WebSocket's whole life; seam/drivers.py copies the socket there
#: for simple-websocket, which looks for it.
SOCKET_KEY = "rolegate.socket"

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Bytes asked of the socket per read; a chat frame fits in one.
RECV_BYTES = 16384
#: Seconds to wait for the client's answer to our close frame before dropping the socket.
CLOSE_TIMEOUT = 3.0
#: Unsent bytes a client may fall behind by before it is dropped (at least two of the largest
#: messages). Its client reconnects, and a ``join`` with ``since`` replays what it missed.
BACKLOG_LIMIT_BYTES = 8 * 1024 * 1024

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NORMAL_CLOSURE = 1000
PROTOCOL_ERROR = 1002
INVALID_FRAME_DATA = 1007
MESSAGE_TOO_BIG = 1009
#: Close codes a peer may send (RFC 6455 7.4); others are a protocol error.
VALID_CLOSE_CODES = frozenset(range(1000, 1012)) - {1004, 1005, 1006} | frozenset(range(3000, 5000))


class _Gone(Exception):
    """The connection ended: the client went away, or the close handshake is over."""


class _Refuse(Exception):
    """The client broke the protocol or a limit: close with this code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + GUID).digest()).decode()


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR a client payload with its 4-byte mask, as one big integer (no per-byte Python loop)."""
    n = len(payload)
    if not n:
        return b""
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final server frame."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def socket_of(environ: dict) -> Any:
    """The client's socket as the gateway's servers hand it over, or None.

    ``rolegate.socket``: serving/handler.py, under gunicorn and ``rolegate serve``.
    ``gunicorn.socket``: gunicorn's own workers.
    """
    return environ.get(SOCKET_KEY) or environ.get("gunicorn.socket")


class InlineWebSocket:
    """python-engineio's WebSocket object (``wait``/``send``/``close``) on a raw gevent socket."""

    def __init__(self, sock: Any, max_message_bytes: int) -> None:
        self._sock = sock  # python-engineio sets its ping timeout on it (socket.py)
        self.max_message_bytes = max_message_bytes
        self.connected = True
        self._close_sent = False
        self._close_received = False
        self._unread = 0
        self._buffer = b""
        self._backlog: deque[memoryview] | None = None  # unsent bytes, while a drain runs
        self._backlog_bytes = 0
        self.max_backlog_bytes = max(BACKLOG_LIMIT_BYTES, 2 * max_message_bytes)
        self._drainer: gevent.Greenlet | None = None

    # --- python-engineio's interface -------------------------------------------------

    def wait(self) -> str | bytes | None:
        """The next whole message, or None once the connection is over."""
        if not self.connected:
            return None
        try:
            return self._next_message()
        except _Refuse as refusal:
            log.info("closed a WebSocket with %d: %s", refusal.code, refusal.reason)
            self._send_close(refusal.code, refusal.reason)
            self.finish_closing()
        except (_Gone, OSError):
            pass
        self.connected = False
        return None

    def send(self, message: str | bytes) -> None:
        if not self.connected or self._close_sent:
            raise OSError("the WebSocket is closed")
        if isinstance(message, bytes | bytearray):
            self._write(frame(BINARY, bytes(message)))
        else:
            self._write(frame(TEXT, message.encode()))

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Send a close frame once; ``wait()`` then reads until the client answers it."""
        if self._send_close(code, reason) and self.connected:
            # The reader may be parked in recv for a client that never answers: wake it in time.
            gevent.spawn_later(CLOSE_TIMEOUT, self._drop)

    def _send_close(self, code: int, reason: str = "") -> bool:
        """Our close frame, once; False if it was sent before or cannot be."""
        if self._close_sent:
            return False
        self._close_sent = True
        try:
            self._write(frame(CLOSE, struct.pack("!H", code) + reason.encode()[:123]))
        except OSError:
            self._drop()  # a reader parked in recv must still wake up
            return False
        return True

    # --- reading -------------------------------------------------------------------------

    def _next_message(self) -> str | bytes:
        parts: list[bytes] = []
        size = 0
        message_opcode = None
        while True:
            opcode, fin, length = self._frame_header()
            if opcode >= CLOSE:
                self._control(opcode, unmask(*self._payload(length)))
                continue
            if opcode == CONTINUATION:
                if message_opcode is None:
                    raise _Refuse(PROTOCOL_ERROR, "continuation frame without a message")
            elif message_opcode is not None:
                raise _Refuse(PROTOCOL_ERROR, "new message before the last one ended")
            else:
                message_opcode = opcode
            size += length
            if size > self.max_message_bytes:
                self._unread = 4 + length  # its mask and payload: dropped while closing, never kept
                raise _Refuse(MESSAGE_TOO_BIG, f"message over {self.max_message_bytes} bytes")
            if self._close_sent:  # closing: discard what still comes, keep looking for the close
                self._payload(length)
                parts.clear()
                size = 0
                message_opcode = None if fin else message_opcode
                continue
            parts.append(unmask(*self._payload(length)))
            if fin:
                break
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if message_opcode == BINARY:
            return data
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refuse(INVALID_FRAME_DATA, "text message is not UTF-8") from None

    def _frame_header(self) -> tuple[int, bool, int]:
        first, second = self._read(2)
        opcode = first & 0x0F
        fin = bool(first & 0x80)
        if first & 0x70:
            raise _Refuse(PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)")
        if not second & 0x80:
            raise _Refuse(PROTOCOL_ERROR, "client frames must be masked")
        length = second & 0x7F
        if opcode >= CLOSE:
            if opcode not in (CLOSE, PING, PONG):
                raise _Refuse(PROTOCOL_ERROR, f"unknown opcode {opcode}")
            if length > 125 or not fin:
                raise _Refuse(PROTOCOL_ERROR, "control frames are short and unfragmented")
        elif opcode not in (CONTINUATION, TEXT, BINARY):
            raise _Refuse(PROTOCOL_ERROR, f"unknown opcode {opcode}")
        elif length == 126:
            length = int.from_bytes(self._read(2), "big")
        elif length == 127:
            length = int.from_bytes(self._read(8), "big")
            if length >> 63:
                raise _Refuse(PROTOCOL_ERROR, "frame length out of range")
        return opcode, fin, length

    def _payload(self, length: int) -> tuple[bytes, bytes]:
        """The mask and the (still masked) payload of the current frame."""
        data = self._read(4 + length)
        return data[4:], data[:4]

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == PING:
            if not self._close_sent:
                self._write(frame(PONG, payload))
        elif opcode == CLOSE:
            if len(payload) == 1:
                raise _Refuse(PROTOCOL_ERROR, "close frame with a one-byte payload")
            code = int.from_bytes(payload[:2], "big") if payload else NORMAL_CLOSURE
            if code not in VALID_CLOSE_CODES:
                raise _Refuse(PROTOCOL_ERROR, f"invalid close code {code}")
            try:
                payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise _Refuse(INVALID_FRAME_DATA, "close reason is not UTF-8") from None
            self._close_received = True
            self._send_close(code)  # the answer, unless we started the closing handshake
            raise _Gone
        # a pong needs nothing: python-engineio's own Engine.IO ping keeps the session alive

    def _read(self, n: int) -> bytes:
        buffer = self._buffer
        while len(buffer) < n:
            # One read asks for the whole rest of a large frame (bounded by max_message_bytes).
            chunk = self._sock.recv(max(RECV_BYTES, n - len(buffer)))
            if not chunk:
                raise _Gone
            buffer = buffer + chunk if buffer else chunk
        if len(buffer) == n:
            self._buffer = b""
            return buffer
        self._buffer = buffer[n:]
        return buffer[:n]

    def finish_closing(self) -> None:
        """After our close frame: read (and drop) until the client's close, its FIN or the timeout.

        Closing the socket with the client's data unread would send a reset, and the client
        could lose our close frame and its code.
        """
        if not self._close_sent or self._close_received:
            return
        try:
            with gevent.Timeout(CLOSE_TIMEOUT, _Gone):
                self._discard(self._unread)
                while True:
                    opcode, _, length = self._frame_header()
                    data = self._payload(length)
                    if opcode == CLOSE:
                        self._close_received = True
                        return
                    del data
        except (_Gone, _Refuse, OSError):
            return
        finally:
            self.connected = False

    def _discard(self, n: int) -> None:
        """Skip n bytes of input without holding them."""
        kept = len(self._buffer)
        if kept >= n:
            self._buffer = self._buffer[n:]
            return
        self._buffer = b""
        n -= kept
        while n > 0:
            chunk = self._sock.recv(min(n, 4 * RECV_BYTES))
            if not chunk:
                raise _Gone
            n -= len(chunk)

    # --- writing -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Send now what the socket takes; queue the rest, in order, for the drain greenlet.

        Never blocks: a receiver that reads slowly costs memory, not the sender's time.
        Raises OSError if the connection is already broken.
        """
        if self._backlog is not None:
            self._backlog_bytes += len(data)
            if self._backlog_bytes > self.max_backlog_bytes:
                self._too_far_behind()
            self._backlog.append(memoryview(data))
            return
        try:
            # timeout 0.0: gevent raises instead of parking this greenlet until writable.
            sent = self._sock.send(data, 0, 0.0)
        except BlockingIOError:
            sent = 0
        if sent < len(data):
            self._backlog = deque((memoryview(data)[sent:],))
            self._backlog_bytes = len(data) - sent
            self._drainer = gevent.spawn(self._drain)

    def _drain(self) -> None:
        backlog = self._backlog
        try:
            while backlog:
                self._sock.sendall(backlog[0])  # parks this greenlet only
                self._backlog_bytes -= len(backlog.popleft())
        except OSError:
            self._drop()  # the reader then sees the connection end
        finally:
            self._backlog = None
            self._backlog_bytes = 0
            self._drainer = None

    def _too_far_behind(self) -> None:
        """Drop a client that reads far slower than it is sent to, before it costs unbounded memory.

        The drain greenlet then fails on the shut-down socket and lets the backlog go.
        """
        if not self.connected:
            raise OSError("the connection is closed")
        log.warning(
            "dropped a WebSocket whose client fell over %d bytes behind; it can reconnect and replay "
            "what it missed",
            self.max_backlog_bytes,
        )
        metrics.SLOW_CLIENTS_DROPPED.inc()
        self._drop()
        raise OSError("the client fell too far behind")

    def flush(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Wait (a bounded time) until every queued byte is written, before the socket is closed."""
        drainer = self._drainer
        if drainer is not None:
            drainer.join(timeout)

    def _drop(self) -> None:
        """Unblock a reader: the client never answered our close, or writing to it failed."""
        if self.connected:
            self.connected = False
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class InlineWebSocketWSGI:
    """What python-engineio calls as ``factory(handler, server)(environ, start_response)``."""

    def __init__(
        self, handler: Callable[[Any], Any], server: Any, max_message_bytes: int, fallback: Callable
    ) -> None:
        self.app = handler
        self.server = server
        self.max_message_bytes = max_message_bytes
        self.fallback = fallback

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        sock = socket_of(environ)
        if sock is None:  # a server that does not hand the socket over: simple-websocket finds it
            return self.fallback(self.app, self.server)(environ, start_response)
        # The gate (transports/gate.py) refused a handshake without version 13 and a key.
        key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
        # No subprotocol (Engine.IO asks for none) and no extension: none is offered back.
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
        )
        ws = InlineWebSocket(sock, self.max_message_bytes)
        self.ws = ws  # where seam/drivers.py finds the connection, as with simple-websocket
        try:
            self.app(self)
            ws.finish_closing()  # a close sent outside wait() (guard.py's 1007) still gets its answer
        finally:
            ws.flush()
            ws.connected = False
        # The response was the WebSocket itself. As simple-websocket does under gunicorn: a list
        # would make python-engineio write an HTTP 200 into the socket after a session that
        # began on polling. The HTTP server's handler catches this and closes the connection
        # (serving/handler.py, serving/standalone.py).
        raise StopIteration

    # python-engineio talks to this object; CheckedWebSocket reaches the connection as ``.ws``.
    @property
    def _sock(self) -> Any:
        return self.ws._sock

    def wait(self) -> str | bytes | None:
        return self.ws.wait()

    def send(self, message: str | bytes) -> None:
        self.ws.send(message)

    def close(self) -> None:
        self.ws.close()
