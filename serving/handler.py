"""gevent's pywsgi handler, made right for WebSockets: the one handler both servers use.

As shipped, pywsgi breaks a WebSocket driver's handover: the socket is found through
``wsgi.input`` and duplicated (two descriptors per WebSocket), and after the WebSocket ends
pywsgi reads its leftover frames as a next request ("Invalid HTTP method"), which stalled
disconnects by seconds. ``WebSocketHandover`` gives the driver (seam/inline_ws.py, or
simple-websocket) the socket itself, and closes the connection when a WebSocket ends. It is
mixed into gunicorn's pywsgi handler (serving/worker.py) and into gevent's own for
``rolegate serve`` (gunicorn does not import on Windows).
"""

from __future__ import annotations

from typing import Any

from seam.inline_ws import SOCKET_KEY


class WebSocketHandover:
    """Mixin for a pywsgi handler: hand a WebSocket request's socket itself to the WebSocket driver."""

    socket: Any
    rfile: Any
    environ: dict
    close_connection: bool

    def get_environ(self) -> dict:
        environ = super().get_environ()  # type: ignore[misc]
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            # The WebSocket driver then uses this very socket, never a dup of it. Only here, and
            # not as ``gunicorn.socket``: python-engineio builds a class per request that carries
            # that key (5% of polling, and 2.8 KiB kept per WebSocket); seam/drivers.py copies it
            # there for simple-websocket, which looks for it.
            environ[SOCKET_KEY] = self.socket
        return environ

    def run_application(self) -> None:
        if self.environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return super().run_application()  # type: ignore[misc]
        # The driver reads the socket itself; this handler's 8 KiB read buffer would otherwise
        # stay allocated for the WebSocket's whole life. A client sends nothing past the
        # handshake before its 101, so the buffer holds nothing unread.
        self.rfile.close()
        try:
            super().run_application()  # type: ignore[misc]  # a refusal by the gate is an ordinary response
        except StopIteration:
            pass  # python-engineio's "the WebSocket is over" (seam/inline_ws.py, simple-websocket)
        finally:
            self.close_connection = True


def standalone_handler() -> type:
    """gevent's own pywsgi handler with the handover, for ``rolegate serve``."""
    from gevent.pywsgi import WSGIHandler

    from serving.turns import OneRequestPerTurn

    class Handler(OneRequestPerTurn, WebSocketHandover, WSGIHandler):
        pass

    return Handler
