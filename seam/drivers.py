"""The WebSocket driver python-engineio runs, chosen and installed from the profile.

python-engineio takes its WebSocket driver from a table of its async mode. This module
is the one place that replaces it: with the inline driver (seam/inline_ws.py, whose
sessions send on it directly, seam/session.py) or the async mode's own
(simple-websocket). Either way ``CheckedWebSocket`` sits in front, so a frame that
python-engineio would choke on closes that WebSocket (1007) and nothing else, and the
driver is told the profile's size limit, so an oversized frame is refused with close
code 1009 before it is buffered whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from config.profile import Profile
from seam.inline_ws import INVALID_FRAME_DATA, SOCKET_KEY
from seam.packets import valid_engineio_frame

log = logging.getLogger("rolegate.transports")


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
            inner.close(INVALID_FRAME_DATA, "malformed Engine.IO packet")
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


def install_websocket_driver(sio: Any, profile: Profile) -> None:
    """Install the profile's WebSocket driver, with CheckedWebSocket and the size limit in front.

    ``sio`` is a seam.server.GuardedServer: its sessions become GatewaySocket with the inline driver.
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
        from seam.inline_ws import InlineWebSocketWSGI
        from seam.session import GatewaySocket

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
            # serving/handler.py hands the socket over under its own key; simple-websocket
            # takes it (rather than a dup of it) from gunicorn's.
            if SOCKET_KEY in environ:
                environ.setdefault("gunicorn.socket", environ[SOCKET_KEY])
            return websocket_app(environ, start_response)

        return with_gunicorn_socket

    # A copy: the driver table is shared by every server of this async mode.
    eio._async = {**eio._async, "websocket": checked_factory}
