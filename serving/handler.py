"""gevent's pywsgi handler, made right for WebSockets: the one handler both servers use.

As shipped, pywsgi breaks a WebSocket driver's handover: the socket is found through
``wsgi.input`` and duplicated (two descriptors per WebSocket), and after the WebSocket ends
pywsgi reads its leftover frames as a next request ("Invalid HTTP method"), which stalled
disconnects by seconds. ``WebSocketHandover`` gives the driver (seam/inline_ws.py, or
simple-websocket) the socket itself, and closes the connection when a WebSocket ends. It is
mixed into gunicorn's pywsgi handler (serving/worker.py) and into gevent's own for
``rolegate serve`` (gunicorn does not import on Windows).

``ConnectionHygiene`` keeps one client from hurting another at the connection level: a
request line and headers must arrive within ``header_timeout`` (timed by serving/request_loop.py,
which reads them) and a keep-alive connection
may idle ``keepalive_timeout`` (both close quietly), connections are counted per address for
the gate's cap, header floods get a plain 431, a response says ``Connection: close`` whenever
the connection is then closed, and a body left unread on a closing connection is not read out.
"""

from __future__ import annotations

import http.client
import io
import logging
import socket
from typing import Any

from gevent import Timeout

from config.profile import Profile
from ops.address import CONNECTION_SLOT, ConnectionSlot
from ops.fairness import take_turn, wait_readable
from seam.inline_ws import SOCKET_KEY
from serving import draining
from serving.http11 import LINE_TOO_LONG, FastHeaders, FastResponses, RequestHeaders

log = logging.getLogger("rolegate.serving")

_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)


class _NoDiscard:
    """Stands in for pywsgi's request input once the connection is closing: nothing is read out."""

    @staticmethod
    def _discard() -> None:
        pass


_NO_DISCARD = _NoDiscard()


#: The read buffer of a connection: a request line and headers from a browser fit (longer lines
#: are read in more than one fill).
READ_BUFFER_BYTES = 2048


class WaitFirstIO(socket.SocketIO):
    """The raw reader under a connection's buffered ``rfile``, which can wait for bytes before reading.

    gevent's ``recv_into`` tries the socket before it waits. Between two requests of a keep-alive
    connection the client has sent nothing yet (it waits for our answer, or for a message to
    poll), so that first try fails, and the failed read with its exception was about 10% of
    polling time under py-spy. The buffered reader asks its raw reader only when it holds no
    bytes itself, so waiting here never strands a pipelined request that is already buffered.
    """

    #: Set by ConnectionHygiene for the wait between two requests only.
    wait_first = False
    #: Whether the last read waited for bytes (had none buffered in the kernel or here).
    waited = False
    _readable: Any = None  # gevent's watcher for "bytes arrived", made at the first wait

    def readinto(self, buffer: Any) -> int | None:
        if self.wait_first:
            self._readable = wait_readable(self.fileno(), self._readable)
            self.waited = True
        return super().readinto(buffer)


class ConnectionHygiene:
    """Mixin for a pywsgi handler: timeouts, per-address counting, honest ``Connection`` headers."""

    #: Set per server from the profile (``configured``); these are the settings' defaults.
    header_timeout: float = 10.0
    keepalive_timeout: float = 60.0
    _keepalive_hint: bytes = b"timeout=60"

    socket: Any
    rfile: Any
    client_address: Any
    close_connection: bool
    request_version: str | None
    code: int | None
    response_headers: list
    wsgi_input: Any

    _slot: ConnectionSlot | None = None
    _served: int = 0
    # One of each per connection, restarted per request: a new Timeout per request cost 5 us.
    _header_timer: Any = None
    _idle_timer: Any = None

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        if rfile is None:
            # pywsgi would make an 8 KiB buffered reader, held for the connection's life: two per
            # polling client (its long-poll and its POSTs). A request line and headers fit in far
            # less, and a body larger than the buffer is read past it. makefile with no buffering
            # gives the raw stream (and counts it, so the socket closes when both are closed).
            raw = sock.makefile("rb", 0)
            if type(raw) is socket.SocketIO:
                raw.__class__ = WaitFirstIO  # the same object and fields, one method more
                rfile = io.BufferedReader(raw, READ_BUFFER_BYTES)
            else:
                rfile = io.BufferedReader(raw)
        super().__init__(sock, address, server, rfile)  # type: ignore[call-arg]

    def handle(self) -> None:
        try:
            super().handle()  # type: ignore[misc]
        finally:
            if self._slot is not None:
                self._slot.release()
            for timer in (self._header_timer, self._idle_timer):
                if timer is not None:
                    timer.close()

    def _drop_header_timer(self) -> None:
        """Close the header timer for good (a WebSocket's connection reads no next request)."""
        timer, self._header_timer = self._header_timer, None
        if timer is not None:
            timer.close()

    def _next_request_arrives(self) -> bytes:
        """Wait up to keepalive_timeout for a next request's first bytes; the bytes buffered then, not
        taken (b"": close the connection).

        One method for three rules, since a layer each cost 4% of polling time: the wait ends when
        the process drains (serving/draining.py), and a request that was already buffered waits a
        turn (ops/fairness.py): a client that pipelines requests must not hold the worker. A client
        that waited for its answer made this wait pass through gevent's loop, a turn already.
        """
        rfile = self.rfile
        if rfile.closed or draining.DRAINING.is_set():
            return b""
        timer = self._idle_timer
        if timer is None:
            timer = self._idle_timer = Timeout(self.keepalive_timeout)
        timer.start()
        raw = rfile.raw
        raw.waited = False
        raw.wait_first = True
        draining.WAITING.add(self)
        try:
            first = rfile.peek(1)  # waits for bytes, takes none
        except Timeout as expired:
            if expired is not timer:
                raise
            log.debug(
                "closed a keep-alive connection from %s: idle %g s (keepalive_timeout)",
                self._peer(),
                self.keepalive_timeout,
            )
            return b""
        except OSError:
            return b""
        finally:
            draining.WAITING.discard(self)
            raw.wait_first = False
            timer.cancel()
        if first and not raw.waited:
            take_turn()
        return first

    def _peer(self) -> str:
        address = self.client_address
        return str(address[0] if isinstance(address, tuple) else address)

    def get_environ(self) -> dict:
        # The request line and headers are in: the application's time is not the client's.
        if self._header_timer is not None:
            self._header_timer.cancel()
        environ = super().get_environ()  # type: ignore[misc]
        environ[CONNECTION_SLOT] = self.connection_slot()
        return environ

    def connection_slot(self) -> ConnectionSlot:
        """This connection's slot, which the gate claims for the client's address (ops/address.py)."""
        if self._slot is None:
            self._slot = ConnectionSlot()
        return self._slot

    def start_response(self, status: str, headers: list, exc_info: Any = None) -> Any:
        write = super().start_response(status, headers, exc_info)  # type: ignore[misc]
        if (
            self.request_version == "HTTP/1.1"
            and self.code != 101
            and not any(name.lower() == "connection" for name, _ in headers)
        ):
            if self.close_connection:
                # pywsgi closes after a request that asked for it, but only said so to HTTP/1.0;
                # a keep-alive client (Node's agent) then reused the dead socket.
                self.response_headers.append((b"Connection", b"close"))
            else:
                # Node's agent and browsers retire an idle socket before the server does.
                self.response_headers.append((b"Keep-Alive", self._keepalive_hint))
        return write

    def run_application(self) -> None:
        try:
            super().run_application()  # type: ignore[misc]
        finally:
            if self.close_connection:
                # pywsgi would read out what the client still sends (all of a refused 1 GB body,
                # or an endless chunked one) before closing; the connection is closing anyway.
                self.wsgi_input = _NO_DISCARD

    def _handle_client_error(self, ex: BaseException) -> Any:
        # gevent's hook for a request it could not parse. The standard library's header parser
        # raises HTTPException for more than 100 headers, which pywsgi printed as a traceback
        # before answering 400; a header line over 64 KiB pywsgi marks as LINE_TOO_LONG.
        if isinstance(ex, http.client.HTTPException) or getattr(self.headers, "status", "") == LINE_TOO_LONG:
            log.debug("refused a request from %s with 431: %s", self._peer(), type(ex).__name__)
            self.close_connection = True
            return ("431", _HEADERS_TOO_LARGE)
        return super()._handle_client_error(ex)  # type: ignore[misc]


def configured(handler: type, profile: Profile) -> type:
    """``handler`` with the profile's connection timeouts: one class per server."""
    return type(
        handler.__name__,
        (handler,),
        {
            "header_timeout": profile.header_timeout,
            "keepalive_timeout": profile.keepalive_timeout,
            "_keepalive_hint": b"timeout=%d" % max(1, int(profile.keepalive_timeout)),
            "__module__": handler.__module__,
        },
    )


class WebSocketHandover:
    """Mixin for a pywsgi handler: hand a WebSocket request's socket itself to the WebSocket driver."""

    socket: Any
    rfile: Any
    environ: dict
    headers: Any
    close_connection: bool
    _drop_header_timer: Any  # ConnectionHygiene's

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
        # Likewise the headers' lookup table (rebuilt if asked again), and the header timer: the
        # connection closes when the WebSocket ends, so no next request needs it.
        if isinstance(self.headers, RequestHeaders):
            self.headers.drop_index()
        self._drop_header_timer()
        try:
            super().run_application()  # type: ignore[misc]  # a refusal by the gate is an ordinary response
        except StopIteration:
            pass  # python-engineio's "the WebSocket is over" (seam/inline_ws.py, simple-websocket)
        finally:
            self.close_connection = True


def gateway_handler(base: type, doc: str) -> type:
    """``base`` (a pywsgi handler class) with every layer the gateway serves through, outermost first.

    The one list of them, for gunicorn's handler (serving/worker.py) and gevent's (``rolegate serve``).
    """
    from serving.request_loop import RequestLoop

    layers = (
        RequestLoop,
        draining.CloseIdleWhenDraining,
        WebSocketHandover,
        ConnectionHygiene,
        FastHeaders,
        FastResponses,
        base,
    )
    return type("Handler", layers, {"__doc__": doc, "__module__": __name__})


def standalone_handler(profile: Profile) -> type:
    """gevent's own pywsgi handler with the handover and the hygiene, for ``rolegate serve``."""
    from gevent.pywsgi import WSGIHandler

    return configured(gateway_handler(WSGIHandler, "gevent's pywsgi handler, as the gateway serves"), profile)
