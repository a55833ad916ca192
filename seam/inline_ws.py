"""The inline WebSocket driver's entry point: the RFC 6455 handshake on the socket the server hands over.

python-engineio calls ``InlineWebSocketWSGI`` as its WebSocket factory (seam/drivers.py
installs it). It answers the handshake with a 101 and runs python-engineio's handler on an
``rfc6455.connection.InlineWebSocket``: frames are read in the handler greenlet, parsed by the
sans-I/O ``rfc6455.protocol`` and written from ``send()`` without blocking. Why the driver exists
(simple-websocket's reader greenlet and wsproto cost ~60% of WebSocket time) is told in
rfc6455/connection.py and bench/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rfc6455.connection import InlineWebSocket
from rfc6455.frames import INVALID_FRAME_DATA, accept_key

__all__ = ["INVALID_FRAME_DATA", "SOCKET_KEY", "InlineWebSocket", "InlineWebSocketWSGI", "socket_of"]

#: Where serving/handler.py hands a WebSocket request's socket to the WebSocket driver. Not
#: ``gunicorn.socket``: python-engineio keeps a class object (2.8 KiB) in the environ of every
#: request with that key, for a WebSocket's whole life; seam/drivers.py copies the socket there
#: for simple-websocket, which looks for it.
SOCKET_KEY = "rolegate.socket"


def socket_of(environ: dict) -> Any:
    """The client's socket as the gateway's servers hand it over, or None.

    ``rolegate.socket``: serving/handler.py, under gunicorn and ``rolegate serve``.
    ``gunicorn.socket``: gunicorn's own workers.
    """
    return environ.get(SOCKET_KEY) or environ.get("gunicorn.socket")


class InlineWebSocketWSGI:
    """What python-engineio calls as ``factory(handler, server)(environ, start_response)``."""

    def __init__(
        self,
        handler: Callable[[Any], Any],
        server: Any,
        max_message_bytes: int,
        fallback: Callable,
        new_budget: Callable[[], Any] | None = None,
    ) -> None:
        self.app = handler
        self.server = server
        self.max_message_bytes = max_message_bytes
        self.fallback = fallback
        self.new_budget = new_budget

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
        ws = InlineWebSocket(sock, self.max_message_bytes, self.new_budget() if self.new_budget else None)
        self.ws = ws  # where seam/drivers.py finds the connection, as with simple-websocket
        try:
            self.app(self)
            ws.finish_closing()  # a close sent outside wait() (seam/drivers.py's 1007) still gets its answer
        finally:
            ws.flush()
            ws.connected = False
        # The response was the WebSocket itself. As simple-websocket does under gunicorn: a list
        # would make python-engineio write an HTTP 200 into the socket after a session that
        # began on polling. The HTTP server's handler catches this and closes the connection
        # (serving/handler.py).
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
