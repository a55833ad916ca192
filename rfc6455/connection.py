"""The gevent driver over rfc6455.protocol: python-engineio's WebSocket object on a raw socket.

simple-websocket (python-engineio's driver) runs a reader greenlet per WebSocket that wakes the
handler greenlet through an Event, and frames in pure-Python wsproto: with python-engineio's
writer greenlet that was three hand-offs per message and about 60% of WebSocket time under
py-spy, and a parked greenlet more per idle WebSocket (bench/RESULTS.md). Here ``wait()``
reads the socket itself, in the greenlet python-engineio calls it from, and hands the bytes to
the sans-I/O protocol (rfc6455/protocol.py), which holds every rule; ``send()`` writes the frame
directly. A write never blocks its caller: what the socket does not take at once waits, in order,
for one drain greenlet (seam/session.py sends replies and broadcasts from the sender's own
greenlet, and one slow receiver must not stall the others).

What the gateway relied on from simple-websocket is kept: a message larger than the limit is
refused with close 1009 from its frame header, before its payload is read; text that is not
UTF-8 is refused with 1007; ``close(code, reason)`` sends that code (seam/drivers.py uses it
for 1007); a client that goes away makes ``wait()`` return None. permessage-deflate is not
implemented: with ``websocket_compression`` on, simple-websocket is used (seam/drivers.py).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections import deque
from typing import Any

import gevent

from ops import metrics
from ops.fairness import InboundBudget, take_turn, wait_readable
from rfc6455.frames import BINARY, NORMAL_CLOSURE, POLICY_VIOLATION, TEXT, frame
from rfc6455.protocol import CLOSED, CLOSING, Close, ServerProtocol

log = logging.getLogger("rolegate.transports")

#: Bytes asked of the socket per read at least; a chat frame fits in one.
RECV_BYTES = 16384
#: Seconds to wait for the client's answer to our close frame before dropping the socket.
CLOSE_TIMEOUT = 3.0
#: Unsent bytes a client may fall behind by before it is dropped (at least two of the largest
#: messages). Its client reconnects, and a ``join`` with ``since`` replays what it missed.
BACKLOG_LIMIT_BYTES = 8 * 1024 * 1024
#: Bytes one pass of the loop may queue for one connection before they are sent at once: the
#: frames a pass writes are held until it ends (``_write``), and this bounds what they can hold.
PENDING_SEND_BYTES = 64 * 1024
#: What ``send()`` frames as binary (a tuple: ``bytes | bytearray`` would build a union per call).
_BINARY_TYPES = (bytes, bytearray)


class _Gone(Exception):
    """The closing handshake timed out."""


def message_frame(message: str | bytes) -> bytes:
    """A text or binary message as one final server frame."""
    if isinstance(message, _BINARY_TYPES):
        return frame(BINARY, bytes(message))
    return frame(TEXT, message.encode())


class _EndOfPass:
    """Connections with frames queued in this pass of gevent's loop, sent by one callback."""

    def __init__(self) -> None:
        self._queued: list[InlineWebSocket] = []

    def add(self, connection: InlineWebSocket) -> None:
        if not self._queued:
            gevent.get_hub().loop.run_callback(self._send_all)
        self._queued.append(connection)

    def _send_all(self) -> None:
        queued, self._queued = self._queued, []
        for connection in queued:
            try:
                connection._send_pending()
            except Exception:  # one connection's bug must not keep the others' frames
                log.exception("could not send a WebSocket's queued frames")
                connection._drop()


_END_OF_PASS = _EndOfPass()


class InlineWebSocket:
    """python-engineio's WebSocket object (``wait``/``send``/``close``) on a raw gevent socket."""

    def __init__(self, sock: Any, max_message_bytes: int, budget: InboundBudget | None = None) -> None:
        self._sock = sock  # python-engineio sets its ping timeout on it (socket.py)
        self._protocol = ServerProtocol(max_message_bytes)
        #: Bytes read are charged here; Engine.IO packets by seam/drivers.py's CheckedWebSocket.
        self.budget = budget
        self.connected = True
        self._backlog: deque[memoryview] | None = None  # unsent bytes, while a drain runs
        self._backlog_bytes = 0
        self.max_backlog_bytes = max(BACKLOG_LIMIT_BYTES, 2 * max_message_bytes)
        self._drainer: gevent.Greenlet | None = None
        self._readable: Any = None  # gevent's watcher for "bytes arrived", made at the first wait
        self._pending: list[bytes] | None = None  # frames written in this pass of the loop
        self._pending_bytes = 0

    def _recv(self, count: int) -> bytes:
        """Read up to ``count`` bytes, waiting for them first (``wait_readable``) when the socket
        has no timeout; a timeout (before the upgrade ends) is gevent's to keep."""
        sock = self._sock
        if sock.gettimeout() is None:
            self._readable = wait_readable(sock.fileno(), self._readable)
        return sock.recv(count)

    @property
    def max_message_bytes(self) -> int:
        """The size limit, which the protocol enforces (a message over it is closed with 1009)."""
        return self._protocol.max_message_bytes

    @max_message_bytes.setter
    def max_message_bytes(self, value: int) -> None:
        self._protocol.max_message_bytes = value

    # --- python-engineio's interface -------------------------------------------------

    def wait(self) -> str | bytes | None:
        """The next whole message, or None once the connection is over."""
        if not self.connected:
            return None
        protocol = self._protocol
        budget = self.budget
        try:
            if protocol.has_unparsed_input():
                # The next message needs no recv, so nothing would yield: let the other
                # connections run first, or one flooding client starves them.
                take_turn()
                if not self.connected:
                    return None
            read = False
            while True:
                event = protocol.next_event()
                if event is not None and event.__class__ is not Close:
                    return event  # type: ignore[return-value]  # str or bytes
                failure = protocol.failure
                if failure is not None:
                    log.info("closed a WebSocket with %d: %s", failure.code, failure.reason)
                    self._flush_or_drop()  # our close frame
                    self.finish_closing()
                    break
                if event is not None:  # the client's close: answered with its code
                    self._flush_or_drop()
                    break
                self._flush()  # pongs
                if protocol.state is CLOSED:
                    break
                needed = protocol.bytes_needed
                if read and self._sock.gettimeout() is not None:
                    # A read that completed no message (a large one, or frames that make none,
                    # like empty continuations): gevent's recv returns at once while bytes are
                    # buffered, so take turns here too (_recv's wait is a turn already).
                    take_turn()
                    if not self.connected:
                        break
                data = self._recv(needed if needed > RECV_BYTES else RECV_BYTES)
                if not data:
                    protocol.receive_eof()
                    break
                read = True
                protocol.receive_data(data)
                if budget is not None and not budget.take_bytes(len(data)):
                    self.over_budget()
        except OSError:
            pass
        self.connected = False
        return None

    def over_budget(self) -> None:
        """Close with 1008 (``flood: ...``): the client sent more than its inbound budget allows."""
        reason = self.budget.reason() if self.budget is not None else "flood"
        log.warning("closing a WebSocket that sent over its inbound budget: %s", reason)
        metrics.REFUSED.labels("websocket", "flood").inc()
        self._protocol.fail(POLICY_VIOLATION, reason)

    def send(self, message: str | bytes) -> None:
        # Framed here rather than through protocol.send_text: one list round trip less per message
        # on the fan-out path (bench/rfc6455_parse.py). The protocol only tracks close frames.
        self.send_frame(message_frame(message))

    def send_frame(self, data: bytes) -> None:
        """Send one whole frame made by ``message_frame``: a broadcast frames its message once."""
        protocol = self._protocol
        if not self.connected or protocol.close_sent is not None:
            raise OSError("the WebSocket is closed")
        if protocol.has_data_to_send():  # a pong queued by wait() goes first
            self._flush()
        self._write(data)

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Send a close frame once; ``wait()`` then reads until the client answers it."""
        if self._send_close(code, reason) and self.connected:
            # The reader may be parked in recv for a client that never answers: wake it in time.
            gevent.spawn_later(CLOSE_TIMEOUT, self._drop)

    def _send_close(self, code: int, reason: str = "") -> bool:
        """Our close frame, once; False if it was sent before or cannot be."""
        protocol = self._protocol
        if protocol.close_sent is not None:
            return False
        protocol.send_close(code, reason)
        try:
            self._flush()
        except OSError:
            self._drop()  # a reader parked in recv must still wake up
            return False
        return True

    def finish_closing(self) -> None:
        """After our close frame: read (and drop) until the client's close, its FIN or the timeout.

        Closing the socket with the client's data unread would send a reset, and the client
        could lose our close frame and its code.
        """
        protocol = self._protocol
        if protocol.state is not CLOSING:
            return
        try:
            with gevent.Timeout(CLOSE_TIMEOUT, _Gone):
                while True:
                    while protocol.next_event() is not None:
                        pass  # in CLOSING only the client's close comes out; data frames are dropped
                    if protocol.state is CLOSED:
                        return
                    take_turn()  # a client that floods on must not hold the worker meanwhile
                    needed = protocol.bytes_needed
                    data = self._sock.recv(needed if needed > RECV_BYTES else RECV_BYTES)
                    if not data:
                        return
                    protocol.receive_data(data)
        except (_Gone, OSError):
            return
        finally:
            self.connected = False

    # --- writing -------------------------------------------------------------------------

    def _flush(self) -> None:
        """Write what the protocol queued (replies, pongs, close frames), in order."""
        for data in self._protocol.data_to_send():
            self._write(data)

    def _flush_or_drop(self) -> None:
        try:
            self._flush()
        except OSError:
            self._drop()  # a reader parked in recv must still wake up

    def _write(self, data: bytes) -> None:
        """Queue ``data`` to go out, in order, when this pass of gevent's loop ends.

        Frames written to one connection in one pass (a join storm's presence events, several
        broadcasts) leave in one send: a send is a system call, and one per frame was 43% of the
        worker's time in a reconnect storm (bench/RESULTS.md). Never blocks; raises OSError if
        the connection is known to be broken.
        """
        if self._backlog is not None:
            self._to_backlog(data)
            return
        pending = self._pending
        if pending is None:
            self._pending = [data]
            self._pending_bytes = len(data)
            _END_OF_PASS.add(self)
            return
        pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes > PENDING_SEND_BYTES:
            self._send_pending()  # a pass that writes this much to one client sends as it goes

    def _to_backlog(self, data: bytes) -> None:
        """Queue ``data`` behind what the drain greenlet still has to send, within the limit."""
        self._backlog_bytes += len(data)
        if self._backlog_bytes > self.max_backlog_bytes:
            self._too_far_behind()
        self._backlog.append(memoryview(data))  # type: ignore[union-attr]  # callers checked it

    def _send_pending(self) -> None:
        """Send what ``_write`` queued; a failure drops the connection (its reader then ends)."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        try:
            self._send_now(pending[0] if len(pending) == 1 else b"".join(pending))
        except OSError:
            self._drop()

    def _send_now(self, data: bytes) -> None:
        """Send now what the socket takes; queue the rest, in order, for the drain greenlet.

        A receiver that reads slowly costs memory, not the sender's time.
        """
        if self._backlog is not None:
            self._to_backlog(data)
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
        self._send_pending()
        drainer = self._drainer
        if drainer is not None:
            drainer.join(timeout)

    def _drop(self) -> None:
        """Unblock a reader: the client never answered our close, or writing to it failed."""
        if self.connected:
            self.connected = False
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
