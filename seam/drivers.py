"""The WebSocket driver python-engineio runs, chosen and installed from the profile.

python-engineio takes its WebSocket driver from a table of its async mode. This module
is the one place that replaces it: with the inline driver (seam/inline_ws.py, whose
sessions send on it directly, seam/session.py) or the async mode's own
(simple-websocket). Either way ``CheckedWebSocket`` sits in front, so a frame that
python-engineio would choke on closes that WebSocket (1007) and nothing else, and the
driver is told the profile's size limit, so an oversized frame is refused with close
code 1009 before it is buffered whole.

No connection may hold the worker: gevent's ``recv`` returns at once while bytes are buffered,
so a reader that never waits never lets the others run. Each connection takes turns: the inline
driver yields before a message it already holds and between reads (rfc6455/connection.py); with
simple-websocket, ``CheckedWebSocket.wait()`` yields before each message its reader greenlet
already buffered, and that reader reads through ``TakingTurns``, which yields before each read
and stops reading while its handler is behind. Each connection is also charged against its
inbound budget (ops/budget.py): Engine.IO packets here, bytes as they are read; over it, the
WebSocket is closed with 1008 and a reason starting ``flood:``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import gevent

from config.profile import Profile
from ops import metrics
from ops.fairness import InboundBudget, budget_factory, take_turn
from rfc6455.connection import CLOSE_TIMEOUT, InlineWebSocket
from rfc6455.frames import POLICY_VIOLATION
from seam.inline_ws import INVALID_FRAME_DATA, SOCKET_KEY
from seam.packets import valid_engineio_frame

log = logging.getLogger("rolegate.transports")

#: Messages simple-websocket's reader greenlet may hold that the session has not taken yet; past
#: it, the reader stops reading (TCP then slows the client) instead of buffering without end.
MAX_BUFFERED_MESSAGES = 64
#: How often a reader held back by MAX_BUFFERED_MESSAGES looks again, in seconds.
HELD_BACK_POLL_S = 0.005


class CheckedWebSocket:
    """Wraps python-engineio's WebSocket object so only decodable frames within budget reach it."""

    def __init__(self, ws: Any, budget: InboundBudget, taking_turns: TakingTurns | None = None) -> None:
        self._ws = ws
        self._budget = budget
        #: simple-websocket's socket, or None with the inline driver (which takes turns itself).
        self._taking_turns = taking_turns

    def wait(self) -> str | bytes | None:
        turns = self._taking_turns
        if turns is not None and turns.websocket.input_buffer:
            take_turn()  # the reader already holds this message: let the others run first
        data = self._ws.wait()
        if data is None:
            if turns is not None:
                turns.wait_for_reader()
            return None
        if not self._budget.take_packet():
            reason = self._budget.reason()
            log.warning("closing a WebSocket that sent over its inbound budget: %s", reason)
            metrics.REFUSED.labels("websocket", "flood").inc()
            return self._refuse(POLICY_VIOLATION, reason)
        if valid_engineio_frame(data):
            return data
        log.warning("closed a WebSocket that sent a malformed Engine.IO packet: %r", data[:40])
        return self._refuse(INVALID_FRAME_DATA, "malformed Engine.IO packet")

    def _refuse(self, code: int, reason: str) -> None:
        inner = getattr(self._ws, "ws", None)
        if inner is not None and inner.connected:
            inner.close(code, reason)
        turns = self._taking_turns
        if turns is not None:
            turns.linger = True
            turns.wait_for_reader()
        return None  # what python-engineio reads as "closed by the client"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


class TakingTurns:
    """The socket simple-websocket's reader greenlet reads from: one read per turn, within budget.

    simple-websocket reads 4 KiB at a time and buffers every message in them for its session;
    read on a socket that always has bytes, that loop never yielded. Here each read yields
    first, waits while the session is ``MAX_BUFFERED_MESSAGES`` behind, and charges the bytes
    read; over the budget the WebSocket is closed with 1008. After a close the gateway sent,
    ``close()`` reads what the client still sends (for ``CLOSE_TIMEOUT`` at most) before it
    closes, so the client is not reset before it reads the close frame.
    """

    def __init__(self, sock: Any, budget: InboundBudget) -> None:
        self._sock = sock
        self.budget = budget
        #: The simple_websocket.Server reading from this socket (set once it exists).
        self.websocket: Any = None
        #: The gateway closed this WebSocket: read until the client's EOF before closing.
        self.linger = False

    def recv(self, size: int) -> bytes:
        take_turn()
        if self.linger:
            # The gateway closed this WebSocket: end the reader, which then closes (and lingers).
            # simple-websocket would otherwise read on, and set itself connected again.
            return b""
        ws = self.websocket
        if ws is not None:
            while len(ws.input_buffer) >= MAX_BUFFERED_MESSAGES and ws.connected:
                gevent.sleep(HELD_BACK_POLL_S)
        data = self._sock.recv(size)
        if data and not self.budget.take_bytes(len(data)):
            reason = self.budget.reason()
            log.warning("closing a WebSocket that sent over its inbound budget: %s", reason)
            metrics.REFUSED.labels("websocket", "flood").inc()
            if ws is not None and ws.connected:
                ws.close(POLICY_VIOLATION, reason)
            self.linger = True
            return b""  # the reader ends, and wakes the session
        return data

    def wait_for_reader(self) -> None:
        """Keep the request open until the reader greenlet has closed (and lingered)."""
        ws = self.websocket
        thread = getattr(ws, "thread", None)
        if thread is not None and self.linger:
            thread.join(CLOSE_TIMEOUT + 1)

    def close(self) -> None:
        if self.linger:
            try:
                self._sock.shutdown(socket.SHUT_WR)
                with gevent.Timeout(CLOSE_TIMEOUT, False):
                    while self._sock.recv(65536):
                        take_turn()
            except OSError:
                pass
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def websocket_driver(profile: Profile) -> str:
    """The driver in force: ``inline`` only where it applies (gevent, no permessage-deflate)."""
    if (
        profile.websocket_driver == "inline"
        and profile.async_mode == "gevent"
        and not profile.websocket_compression
    ):
        return "inline"
    return "simple-websocket"


def install_websocket_driver(sio: Any, profile: Profile) -> None:
    """Install the profile's WebSocket driver, with CheckedWebSocket and the size limit in front.

    ``sio`` is a seam.server.GuardedServer: its sessions become GatewaySocket with the inline driver.
    """
    eio = sio.eio
    library_websocket = eio._async.get("websocket")
    if library_websocket is None:
        return
    max_bytes = profile.max_message_bytes
    new_budget = budget_factory(profile)
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
        from seam.inline_ws import InlineWebSocketWSGI
        from seam.session import GatewaySocket

        sio.session_class = GatewaySocket

        def make_websocket(handler: Callable, server: Any) -> Any:
            # Its bound __call__: the WebSocket's greenlet stays parked under this call, and an
            # instance called through C keeps 0.75 KiB more of C stack (serving/shallow.py).
            return InlineWebSocketWSGI(
                handler, server, max_bytes, fallback=library_websocket, new_budget=new_budget
            ).__call__

    def checked_factory(handler: Callable, server: Any) -> Any:
        def checked_handler(ws: Any) -> Any:
            inner = getattr(ws, "ws", None)  # simple_websocket.Server or InlineWebSocket
            if isinstance(inner, InlineWebSocket) and inner.budget is not None:
                return handler(CheckedWebSocket(ws, inner.budget))
            turns = getattr(inner, "sock", None)
            if inner is not None and not isinstance(inner, InlineWebSocket):
                # simple-websocket's name for the limit; the inline driver was given it when built.
                inner.max_message_size = max_bytes
            if isinstance(turns, TakingTurns):
                turns.websocket = inner
                return handler(CheckedWebSocket(ws, turns.budget, turns))
            return handler(CheckedWebSocket(ws, new_budget()))

        websocket_app = make_websocket(checked_handler, server)
        if driver == "inline":
            return websocket_app

        def with_gunicorn_socket(environ: dict, start_response: Callable) -> Any:
            # serving/handler.py hands the socket over under its own key; simple-websocket
            # takes it (rather than a dup of it) from gunicorn's.
            if SOCKET_KEY in environ:
                environ.setdefault("gunicorn.socket", environ[SOCKET_KEY])
            sock = environ.get("gunicorn.socket")
            if sock is not None:  # read in turns and within budget (TakingTurns)
                environ["gunicorn.socket"] = TakingTurns(sock, new_budget())
            return websocket_app(environ, start_response)

        return with_gunicorn_socket

    # A copy: the driver table is shared by every server of this async mode.
    eio._async = {**eio._async, "websocket": checked_factory}
