"""A common request read and handed to the application in one method; pywsgi reads the rest.

A long-polling round trip is two HTTP requests, and py-spy put most of the worker's time in the
request loop around the application (bench/RESULTS.md, "Toward Node"): pywsgi's
``handle_one_request``, ``read_request``, ``get_environ`` (four layers of it: ours, gunicorn's,
pywsgi's and the server's) and the header generator, each a few Python calls per request.

A *common* request is what every Socket.IO client and browser sends for long-polling and for the
page: GET or POST, HTTP/1.1, each header once, no Transfer-Encoding, Expect or Upgrade, and a
plain Content-Length. ``RequestLoop`` reads it and builds its environ in one pass, with what the
layers add (the connection slot, gunicorn's keys) written in; a header block seen before is not
parsed again (``CommonHead``: the parsed block and its environ, copied per request). Anything
else (a WebSocket handshake, a chunked body, HTTP/1.0, a repeated header, a malformed line) is
handed, with the request line and headers already read, to pywsgi's own ``handle_one_request``
and the layers, as before. The response side is pywsgi's (with serving/http11.py's one send) in both cases.
"""

from __future__ import annotations

import logging
from typing import Any

from gevent import Timeout
from gevent.pywsgi import MAX_REQUEST_LINE, Input, unquote_latin1

from ops.address import CONNECTION_SLOT
from serving.http11 import RequestHeaders

log = logging.getLogger("rolegate.serving")

_COMMON_METHODS = ("GET", "POST")
#: A header that makes a request uncommon: pywsgi's own path knows what to do with it.
_UNCOMMON_HEADERS = ("transfer-encoding", "expect", "upgrade")


#: Common heads by (header block, client address), shared by connections: the clients of one
#: address send the same block. Bounded: a client that makes blocks up only evicts the oldest.
_SHARED_HEADS: dict[tuple[bytes, str | None], CommonHead] = {}
SHARED_HEADS_LIMIT = 256


class CommonHead:
    """A common request's header block as it came, parsed, and the environ it makes for a client
    address (the request line's and the connection's keys aside): nothing in it changes per
    request, and connections from one address share it."""

    __slots__ = ("block", "headers", "length", "closes", "environ")

    def __init__(
        self, block: bytes, headers: RequestHeaders, length: int | None, closes: bool, environ: dict
    ) -> None:
        self.block = block
        self.headers = headers
        self.length = length  # of the body; None: no body
        self.closes = closes  # Connection: close
        self.environ = environ  # copied for each request, never handed out itself


def _common_line(words: list[str]) -> bool:
    return len(words) == 3 and words[2] == "HTTP/1.1" and words[0] in _COMMON_METHODS


class RequestLoop:
    """Mixin for a pywsgi handler (outermost): keep-alive wait, header timeout, and a common request.

    Relies on ``ConnectionHygiene`` (serving/handler.py) for the waits and timers it starts.
    """

    rfile: Any
    socket: Any
    server: Any
    client_address: Any
    header_timeout: float
    _served: int
    _header_timer: Any
    # What pywsgi's handler keeps per request (its read_request and get_environ set them).
    requestline: str
    command: str
    path: str
    request_version: str
    headers: Any
    content_length: int | None
    close_connection: bool
    response_length: int
    environ: dict
    application: Any
    wsgi_input: Any

    #: The request line and headers read here for a request pywsgi then serves.
    _handed_over: tuple[str, RequestHeaders] | None = None
    #: The connection's last two common header blocks, parsed: a client's agent sends its polls
    #: and its posts over whichever of its connections is free, so one connection sees both.
    _known_head: CommonHead | None = None
    _other_head: CommonHead | None = None
    #: gunicorn's socket key, the port and the connection slot, for every request's environ.
    _connection_keys: dict | None = None

    def handle_one_request(self) -> Any:
        rfile = self.rfile
        if rfile.closed:
            return None
        if self._served:
            head = self._next_request_arrives()  # type: ignore[attr-defined]
            if not head:
                return None
            common = self._buffered_request(head)
            if common is not None:
                self._served += 1
                return self._serve_common(*common)
        return self._read_request()

    def _buffered_request(self, head: bytes) -> tuple[list[str], CommonHead] | None:
        """A common request whose whole head had arrived with its first bytes (as a browser's and a
        Socket.IO client's do), taken from the read buffer; None leaves it there for ``_read_request``.

        No header timer is started for it: nothing is waited for. A header block the same as one of
        the connection's last two is not parsed again (a client sends the same Host, agent and
        types with every request: 59% of blocks at 50 polling clients were the last one, the rest
        the one before).
        """
        end = head.find(b"\r\n\r\n")
        if end < 0:
            return None
        line_end = head.find(b"\r\n")
        line = head[:line_end].decode("latin-1")
        words = line.split()
        if not _common_line(words):
            return None
        block = head[line_end + 2 : end + 2]
        known = self._known_head
        if known is None or known.block != block:
            other = self._other_head
            if other is not None and other.block == block:
                self._known_head, self._other_head = other, known
                known = other
            else:
                key = (block, self.environ_address())
                parsed = _SHARED_HEADS.get(key)
                if parsed is None:
                    headers = RequestHeaders.parse_block(block.decode("latin-1"))
                    if headers is None:
                        return None
                    parsed = self._common_head(headers, block)
                    if parsed is None:
                        return None
                    if len(_SHARED_HEADS) >= SHARED_HEADS_LIMIT:
                        del _SHARED_HEADS[next(iter(_SHARED_HEADS))]  # the oldest
                    _SHARED_HEADS[key] = parsed
                self._known_head, self._other_head = parsed, known
                known = parsed
        self.rfile.read(end + 4)
        self.requestline = line
        return words, known

    def _read_request(self) -> Any:
        """Read a request line and headers as they come, within header_timeout."""
        rfile = self.rfile
        served = self._served
        if self._header_timer is None:
            self._header_timer = Timeout(self.header_timeout)
        # Read through self, not kept in a local: a WebSocket's greenlet stays parked under this
        # frame, and its handover drops the timer (ConnectionHygiene._drop_header_timer).
        self._header_timer.start()
        try:
            try:
                # The first request line is read through the layers (the drain watches that wait);
                # a next one has arrived already.
                line = (
                    rfile.readline(MAX_REQUEST_LINE).decode("latin-1") if served else self.read_requestline()  # type: ignore[attr-defined]
                )
            except OSError:
                return None
            if not line:
                return None
            self._served = served + 1
            words = line.split()
            if len(line) >= MAX_REQUEST_LINE or not _common_line(words):
                return self._hand_over(line, None)
            self.requestline = line.rstrip()
            try:
                headers = RequestHeaders.read(rfile)
            except Exception as ex:  # malformed, or too many: pywsgi's answer (400, or 431 in ours)
                return self._handle_client_error(ex)  # type: ignore[attr-defined]
            common = self._common_head(headers)
            if common is None:
                return self._hand_over(line, headers)
        except Timeout as expired:
            if expired is not self._header_timer:
                raise
            log.debug(
                "closed a connection from %s: no request line and headers within %g s (header_timeout)",
                self._peer(),  # type: ignore[attr-defined]
                self.header_timeout,
            )
            return None
        finally:
            if self._header_timer is not None:
                self._header_timer.cancel()
        return self._serve_common(words, common)

    def _serve_common(self, words: list[str], head: CommonHead) -> Any:
        """pywsgi's state for the request, its environ, and the application's answer."""
        self.command, target, self.request_version = words
        self.path = target
        self.headers = head.headers
        self.content_length = head.length
        self.close_connection = head.closes
        self.response_length = 0
        environ = head.environ.copy()
        environ["REQUEST_METHOD"] = self.command
        path, _, query = target.partition("?")
        environ["PATH_INFO"] = unquote_latin1(path) if "%" in path else path
        environ["QUERY_STRING"] = query
        environ["RAW_URI"] = target  # gunicorn's handler adds it
        keys = self._connection_keys
        if keys is None:
            keys = self._connection_keys = self._keys_of_connection()
        environ.update(keys)
        self.wsgi_input = environ["wsgi.input"] = Input(self.rfile, head.length)
        self.environ = environ
        self.application = self.server.application
        self.handle_one_response()  # type: ignore[attr-defined]
        # Not kept while the connection waits for its next request: its environ (a dict of some
        # 30 keys) and input were this request's.
        self.environ = self.wsgi_input = None  # type: ignore[assignment]
        if self.close_connection or self.rfile.closed:
            return None
        return True

    def _common_head(self, headers: RequestHeaders, block: bytes = b"") -> CommonHead | None:
        """The request's headers with the environ keys they and this connection make (what pywsgi's,
        gunicorn's and our layers' ``get_environ`` make, less the request line's); None when the
        request is not a common one."""
        if headers.status or headers.repeated:
            return None
        by_name = headers.by_name
        assert by_name is not None  # dropped only for a WebSocket's
        for name in _UNCOMMON_HEADERS:
            if name in by_name:
                return None
        text = by_name.get("content-length")
        length = None
        if text is not None:
            if not (text.isascii() and text.isdigit()):
                return None
            length = int(text)
        env = self.server.get_environ()
        env["SCRIPT_NAME"] = ""
        content_type = by_name.get("content-type")
        if content_type is not None:
            env["CONTENT_TYPE"] = content_type
        if text is not None:
            env["CONTENT_LENGTH"] = text
        env["SERVER_PROTOCOL"] = "HTTP/1.1"
        address = self.environ_address()
        if address is not None:
            env["REMOTE_ADDR"] = address
        env.update(headers.environ_items())  # no name is repeated
        env["wsgi.input_terminated"] = True
        closes = by_name.get("connection", "").lower() == "close"
        return CommonHead(block, headers, length, closes, env)

    def environ_address(self) -> str | None:
        """REMOTE_ADDR as pywsgi gives it (None for a Unix socket, which has no address)."""
        address = self.client_address
        return str(address[0]) if isinstance(address, tuple) else None

    def _keys_of_connection(self) -> dict:
        """The environ keys this connection gives each of its requests."""
        keys = {"gunicorn.sock": self.socket, CONNECTION_SLOT: self.connection_slot()}  # type: ignore[attr-defined]
        address = self.client_address
        if isinstance(address, tuple):
            keys["REMOTE_PORT"] = str(address[1])
        return keys

    def _hand_over(self, line: str, headers: RequestHeaders | None) -> Any:
        """Serve an uncommon request with pywsgi's own method, from what was read already."""
        self._handed_over = (line, headers)  # type: ignore[assignment]
        try:
            return super().handle_one_request()  # type: ignore[misc]
        finally:
            self._handed_over = None

    def read_requestline(self) -> str:
        handed = self._handed_over
        if handed is not None:
            return handed[0]
        return super().read_requestline()  # type: ignore[misc]

    def MessageClass(self, rfile: Any, *args: Any) -> Any:  # noqa: N802 (pywsgi's name)
        handed = self._handed_over
        self._handed_over = None  # read: not kept for a WebSocket's whole life
        if handed is not None and handed[1] is not None:
            return handed[1]
        return super().MessageClass(rfile, *args)  # type: ignore[misc]
