"""Malformed and oversized input stops at the connection that sent it.

Two holes in the libraries, closed here:
- python-engineio decodes WebSocket frames outside its error handling: an
  invalid Engine.IO packet raised an uncaught ValueError and an HTTP 500 page
  was written into the upgraded socket. Frames are checked first; a bad one
  closes that WebSocket (1007) and nothing else.
- python-socketio raises on a Socket.IO packet it cannot decode. The gateway
  answers it with an ``error`` event instead, and the connection carries on.
The WebSocket driver (simple-websocket, or transports/inline_ws.py) is also told
the profile's size limit, so an oversized frame is refused with close code 1009
before it is buffered whole.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import socketio
from engineio.payload import Payload

from config.profile import Profile
from ops import metrics
from rfc6455.frames import INVALID_FRAME_DATA
from transports import SOCKET_KEY

log = logging.getLogger("rolegate.transports")

#: The error code of an undecodable Socket.IO packet (listed with the chat's codes in chat/errors.py).
MALFORMED_PACKET = "malformed_packet"
#: Engine.IO v4 packet types a client may send as text: 1 close ... 6 noop ("0" open is server-only).
CLIENT_PACKET_TYPES = frozenset("123456")
#: What python-engineio's Socket.receive handles from a polling POST: 1 close, 3 pong, 4 message,
#: 5 upgrade. A ping or noop raised UnknownPacketError, and the disconnect that followed waited
#: for a long-poll to drain the queue: the POST hung until the client polled again.
POLLING_CLIENT_PACKET_TYPES = frozenset("1345")
PACKET_SEPARATOR = "\x1e"


def valid_engineio_frame(data: str | bytes) -> bool:
    """What engine.io's packet decoder accepts without raising (binary frames always are)."""
    if isinstance(data, bytes | bytearray):
        return True
    return bool(data) and data[0] in CLIENT_PACKET_TYPES


def polling_payload_problem(body: bytes) -> str | None:
    """Why python-engineio could not decode this polling POST body, or None.

    It would raise, log a traceback, drop the whole payload and still answer
    200; the gate answers 400 with this reason instead.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the payload is not UTF-8"
    if text.startswith("d="):  # JSONP form post
        text = parse_qs(text).get("d", [""])[0]
    if not text:
        return None
    packets = text.split(PACKET_SEPARATOR)
    if len(packets) > Payload.max_decode_packets:
        return f"more than {Payload.max_decode_packets} packets in one payload"
    for encoded in packets:
        if encoded.startswith("b"):
            try:
                base64.b64decode(encoded[1:])
            except ValueError:  # binascii.Error, or non-ASCII text in the base64
                return "a binary packet is not valid base64"
        elif not valid_engineio_frame(encoded):
            return f"{encoded[:20]!r} is not an Engine.IO packet"
        elif encoded[0] not in POLLING_CLIENT_PACKET_TYPES:
            return f"{encoded[:20]!r} is not an Engine.IO packet a client sends over polling"
    return None


class CheckedWebSocket:
    """Wraps python-engineio's WebSocket object so only decodable frames reach it."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def wait(self) -> str | bytes | None:
        data = self._ws.wait()
        if data is None or valid_engineio_frame(data):
            return data
        log.warning("closed a WebSocket that sent a malformed Engine.IO packet: %r", data[:40])
        inner = getattr(self._ws, "ws", None)
        if inner is not None and inner.connected:
            inner.close(INVALID_FRAME_DATA, f"{MALFORMED_PACKET}: not an Engine.IO packet")
        return None  # what python-engineio reads as "closed by the client"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


def websocket_driver(profile: Profile) -> str:
    """The driver in force: ``inline`` only where it applies (gevent, no permessage-deflate)."""
    if (
        profile.websocket_driver == "inline"
        and profile.async_mode == "gevent"
        and not profile.websocket_compression
    ):
        return "inline"
    return "simple-websocket"


def guard_websockets(sio: GuardedServer, profile: Profile) -> None:
    """Install the profile's WebSocket driver, with CheckedWebSocket and the size limit in front.

    The one place that chooses the driver: inline (transports/inline_ws.py), whose sessions
    send on it directly (transports/session.py), or the async mode's own (simple-websocket
    under gevent and threading).
    """
    eio = sio.eio
    library_websocket = eio._async.get("websocket")
    if library_websocket is None:
        return
    max_bytes = profile.max_message_bytes
    make_websocket = library_websocket
    driver = websocket_driver(profile)
    if driver != profile.websocket_driver:
        log.info(
            "WebSocket driver %s, not %s: the inline driver runs under gevent without "
            "websocket_compression only",
            driver,
            profile.websocket_driver,
        )
    if driver == "inline":
        from transports.inline_ws import InlineWebSocketWSGI
        from transports.session import GatewaySocket

        sio.session_class = GatewaySocket

        def make_websocket(handler: Callable, server: Any) -> Any:
            return InlineWebSocketWSGI(handler, server, max_bytes, fallback=library_websocket)

    def checked_factory(handler: Callable, server: Any) -> Any:
        def checked_handler(ws: Any) -> Any:
            inner = getattr(ws, "ws", None)  # simple_websocket.Server or InlineWebSocket
            if inner is not None:
                inner.max_message_size = max_bytes  # simple-websocket's name for the limit
            return handler(CheckedWebSocket(ws))

        websocket_app = make_websocket(checked_handler, server)
        if driver == "inline":
            return websocket_app

        def with_gunicorn_socket(environ: dict, start_response: Callable) -> Any:
            # transports/worker.py hands the socket over under its own key; simple-websocket
            # takes it (rather than a dup of it) from gunicorn's.
            if SOCKET_KEY in environ:
                environ.setdefault("gunicorn.socket", environ[SOCKET_KEY])
            return websocket_app(environ, start_response)

        return with_gunicorn_socket

    # A copy: the driver table is shared by every server of this async mode.
    eio._async = {**eio._async, "websocket": checked_factory}


class GuardedServer(socketio.Server):
    """A Socket.IO server that answers undecodable packets with an ``error`` event."""

    #: The Engine.IO session class new sessions become (set by guard_websockets), or None.
    session_class: Any = None

    def _handle_eio_connect(self, eio_sid: str, environ: dict) -> Any:
        # python-engineio has just built the session, and not used it yet.
        if self.session_class is not None:
            self.session_class.adopt(self.eio.sockets[eio_sid])
        return super()._handle_eio_connect(eio_sid, environ)

    def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        # python-socketio reads data[0] as the event name in a background task, where
        # a bad shape would only print a traceback; refuse it here, where it is answered.
        if not (isinstance(data, list) and data and isinstance(data[0], str)):
            raise ValueError("an event packet carries [name, ...arguments]")
        super()._handle_event(eio_sid, namespace, id, data)

    def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            self._binary_packet.pop(eio_sid, None)
            log.warning("malformed Socket.IO packet from %s: %s", eio_sid, exc)
            metrics.count_error(MALFORMED_PACKET)
            sid = self.manager.sid_from_eio_sid(eio_sid, "/")
            if sid is not None:
                self.emit(
                    "error",
                    {"code": MALFORMED_PACKET, "message": f"could not decode the packet: {exc}"},
                    to=sid,
                )
