"""gunicorn's gevent worker on gevent's pywsgi, made right for WebSockets and cheap per request.

gunicorn's plain ``gevent`` worker parses HTTP in Python (gunicorn.http): that parsing was
the largest share of long-polling time under py-spy. Its ``gevent_pywsgi`` worker uses
gevent's parser instead, but as shipped it breaks simple-websocket's handover: the socket is
found through ``wsgi.input`` and duplicated (two descriptors per WebSocket), and after the
WebSocket ends pywsgi reads its leftover frames as a next request. This handler gives
the WebSocket driver (inline_ws.py, or simple-websocket) the socket itself, closes the
connection when a WebSocket ends, and builds no access-log record when no access log is
configured. bench/RESULTS.md has the figures.
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler

from transports import SOCKET_KEY


class Handler(PyWSGIHandler):
    """pywsgi's handler, handing a WebSocket request's socket itself to the WebSocket driver."""

    def get_environ(self) -> dict:
        environ = super().get_environ()
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            # The WebSocket driver then uses this very socket, never a dup of it. Only here, and
            # not as ``gunicorn.socket``: python-engineio builds a class per request that carries
            # that key (5% of polling, and 2.8 KiB kept per WebSocket); guard.py copies it there
            # for simple-websocket, which looks for it.
            environ[SOCKET_KEY] = self.socket
        return environ

    def run_application(self) -> None:
        if self.environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return super().run_application()
        # simple-websocket reads the socket itself; the 8 KiB read buffer of this handler
        # would otherwise stay allocated for the WebSocket's whole life. A client sends
        # nothing past the handshake before its 101, so the buffer holds nothing unread.
        self.rfile.close()
        try:
            super().run_application()  # a refusal by the gate is an ordinary response
        except StopIteration:
            pass  # python-engineio's "the WebSocket is over" in gunicorn mode
        finally:
            self.close_connection = True


class QuietHandler(Handler):
    """Without an access log, gunicorn's handler still built a record per request (2.5% of polling)."""

    def log_request(self) -> None:
        pass


class Worker(GeventPyWSGIWorker):
    """What ``async_mode = "gevent"`` runs under gunicorn (gunicorn.conf.py)."""

    wsgi_handler = Handler

    def init_process(self) -> None:
        if not self.cfg.accesslog:
            self.wsgi_handler = QuietHandler
        super().init_process()
