"""The per-request HTTP/1.1 work pywsgi does in pure Python, done with less: headers in, response out.

Under long-polling every round trip is two HTTP requests, and py-spy put half of the worker's
time in pywsgi (bench/RESULTS.md, "Toward Node"). Three pieces of it were avoidable:
- **Header parsing.** pywsgi hands the header block to the standard library's e-mail parser
  (``http.client.parse_headers``, a feed parser built for MIME), then turns the fields back into
  ``"Name: value\\r\\n"`` strings to split them again for the environ. ``RequestHeaders`` reads the
  lines straight off the connection, once, and is stricter than the e-mail parser: a line without
  a colon, a name with spaces, or an obsolete folded line is a 400 (RFC 9112 5.1, 5.2), as nginx
  answers them.
- **Two sends per response.** pywsgi sends the status line and headers, then the body, in two
  system calls (and two passes through gevent's send path, which asks the kernel for the send
  buffer size each time). ``FastResponses`` sends a body of up to ``ONE_SEND_LIMIT`` bytes with
  its headers in one, and tries a plain send before gevent's ``sendall``.
- **The Date header**, formatted with ``time.gmtime`` and ``%`` for every response, is built
  once per second.

Mixed into the handler before pywsgi's (serving/worker.py, serving/handler.py). The pywsgi names
it overrides or reads are listed in ``serving.PYWSGI_NAMES`` and checked by tests/unit/test_seam.py.
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from typing import Any

from gevent.pywsgi import format_date_time

#: The header parser's limits, as the standard library's (http.client): past them a request gets 431.
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100
#: What pywsgi's header object says in ``status`` for a header line over MAX_HEADER_LINE.
LINE_TOO_LONG = "Line too long"
#: A response body up to this size goes out with its headers in one send.
ONE_SEND_LIMIT = 64 * 1024

_END_OF_HEADERS = (b"\r\n", b"\n", b"")
#: A header line with a token for its name (RFC 9110 5.1, 5.5); blanks around the value are not
#: part of it. Any other line (obsolete folding, a bare LF, a name with blanks) goes to ``read``.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_HEADER_LINE = re.compile(rf"(?m)^({_TOKEN}):[ \t]*((?:[^\r\n]*[^\r\n \t])?)[ \t]*\r\n")
_NOT_IN_ENVIRON_AS_HTTP = ("CONTENT_TYPE", "CONTENT_LENGTH")
_USUAL_VERSIONS = ("HTTP/1.1", "HTTP/1.0")


#: Header names seen, each with its lower-case form and its environ key (None: not put there):
#: one set of strings for every request that sends the name, rather than three new ones per
#: request, which an idle WebSocket keeps for its life. Bounded: names a client makes up fill
#: it at most, and are then made per request as before.
_NAMES: dict[str, tuple[str, str, str | None]] = {}
NAMES_LIMIT = 512


def name_forms(name: str) -> tuple[str, str, str | None]:
    """``(name, lower-case name, environ key or None)``, shared while the table has room."""
    forms = _NAMES.get(name)
    if forms is None:
        key = name.replace("-", "_").upper()
        # A name with "_" is dropped, as pywsgi does (no spoofed keys).
        environ_key = None if "_" in name or key in _NOT_IN_ENVIRON_AS_HTTP else "HTTP_" + key
        forms = (name, name.lower(), environ_key)
        if len(_NAMES) < NAMES_LIMIT:
            _NAMES[name] = forms
    return forms


class MalformedHeader(ValueError):
    """A header line HTTP/1.1 does not allow; pywsgi answers a ValueError with 400."""


class RequestHeaders:
    """A request's header fields as pywsgi's handler and gunicorn's access log read them."""

    __slots__ = ("fields", "by_name", "repeated", "status")

    def __init__(self) -> None:
        #: (name, value) in arrival order, names as sent, values without surrounding blanks.
        self.fields: list[tuple[str, str]] = []
        #: Lower-case name -> its first value; None once dropped (``drop_index``), rebuilt if asked.
        self.by_name: dict[str, str] | None = {}
        #: Whether a name came more than once (serving/request_loop.py leaves that to pywsgi).
        self.repeated = False
        self.status = ""  # LINE_TOO_LONG when a line was over the limit (pywsgi's convention)

    @classmethod
    def read(cls, rfile: Any) -> RequestHeaders:
        """Read header lines up to the blank line; raise on a malformed one or past MAX_HEADERS.

        A block that arrived whole (nearly always: a handshake, a WebSocket upgrade) is parsed in
        one pass (``parse_block``); anything else line by line."""
        buffered = rfile.peek(1)
        end = 0 if buffered[:2] == b"\r\n" else buffered.find(b"\r\n\r\n") + 2
        if end > 1:
            headers = cls.parse_block(buffered[:end].decode("latin-1"))
            if headers is not None:
                rfile.read(end + 2)
                return headers
        return cls._read_lines(rfile)

    @classmethod
    def _read_lines(cls, rfile: Any) -> RequestHeaders:
        headers = cls()
        fields, by_name = headers.fields, headers.by_name
        readline = rfile.readline
        while True:
            line = readline(MAX_HEADER_LINE + 1)
            if len(line) > MAX_HEADER_LINE:
                headers.status = LINE_TOO_LONG
                return headers
            if line in _END_OF_HEADERS:
                return headers
            if len(fields) == MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or name != name.strip() or " " in name or "\t" in name:
                raise MalformedHeader(f"malformed header line {line[:80]!r}")
            value = value.strip(" \t\r\n")
            name, lower, _ = name_forms(name)
            fields.append((name, value))
            if lower in by_name:
                headers.repeated = True
            else:
                by_name[lower] = value

    @classmethod
    def parse_block(cls, block: str) -> RequestHeaders | None:
        """The fields of a whole header block already read (each line ending in CRLF, the blank line
        not included), in one pass of the regular expression engine instead of a Python loop per
        line; None when the block is not plainly well-formed: ``read`` then gives the precise answer.

        Each field matches a whole line (``^``), so a block is well-formed when every line break
        ended a field: a line that did not match, a bare LF or a lone CR leaves one over."""
        if len(block) > MAX_HEADER_LINE:
            return None
        fields = _HEADER_LINE.findall(block)
        if len(fields) != block.count("\n") or len(fields) > MAX_HEADERS:
            return None
        headers = cls()
        headers.fields = fields
        # Reversed, so that a name's first value is the one kept.
        headers.by_name = {name.lower(): value for name, value in reversed(fields)}
        headers.repeated = len(headers.by_name) != len(fields)
        return headers

    def drop_index(self) -> None:
        """Forget the lookup table, and share the names' strings: a WebSocket keeps its request's
        headers for its whole life, and after its handshake only the fields are read again (the
        access log)."""
        self.by_name = None
        self.fields = [(name_forms(name)[0], value) for name, value in self.fields]

    def _index(self) -> dict[str, str]:
        by_name = self.by_name
        if by_name is None:
            by_name = self.by_name = {}
            for name, value in self.fields:
                by_name.setdefault(name_forms(name)[1], value)
        return by_name

    def get(self, name: str, default: Any = None) -> Any:
        return self._index().get(name.lower(), default)

    getheader = get

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._index()

    def __delitem__(self, name: str) -> None:
        lower = name.lower()
        self._index().pop(lower, None)
        self.fields = [(n, v) for n, v in self.fields if n.lower() != lower]

    def items(self) -> list[tuple[str, str]]:
        return list(self.fields)

    @property
    def typeheader(self) -> str | None:
        return self._index().get("content-type")

    def environ_items(self) -> Iterator[tuple[str, str]]:
        """The environ's HTTP_* keys; a name with ``_`` is dropped, as pywsgi does (no spoofed keys)."""
        for name, value in self.fields:
            key = name_forms(name)[2]
            if key is not None:
                yield key, value

    @property
    def headers(self) -> Iterator[str]:
        """The fields as pywsgi's header object gives them: ``"Name: value\\r\\n"``."""
        return (f"{name}: {value}\r\n" for name, value in self.fields)


class FastHeaders:
    """Mixin for a pywsgi handler: parse headers with ``RequestHeaders``, and put them in the environ."""

    headers: Any
    request_version: str

    def MessageClass(self, rfile: Any, *args: Any) -> RequestHeaders:  # noqa: N802 (pywsgi's name)
        return RequestHeaders.read(rfile)

    def _check_http_version(self) -> bool:
        # pywsgi parses the version into a tuple of ints for every request.
        return self.request_version in _USUAL_VERSIONS or super()._check_http_version()  # type: ignore[misc]

    def _headers(self) -> Iterator[tuple[str, str]]:
        """The environ's HTTP_* keys (pywsgi's name), from ``RequestHeaders.environ_items``."""
        return self.headers.environ_items()


class _DateHeader:
    """The Date header's value, formatted once per second."""

    __slots__ = ("second", "value")

    def __init__(self) -> None:
        self.second = -1
        self.value = b""

    def now(self) -> bytes:
        second = int(time.time())
        if second != self.second:
            self.value = format_date_time(second)
            self.second = second
        return self.value


_DATE = _DateHeader()


class FastResponses:
    """Mixin for a pywsgi handler: status, headers and a small body in one send; a cached Date."""

    status: bytes
    response_headers: list
    response_use_chunked: bool
    provided_date: Any
    code: int
    headers_sent: bool
    socket: Any
    response_length: int

    def finalize_headers(self) -> None:
        if self.provided_date is None:
            self.provided_date = _DATE.now()
            self.response_headers.append((b"Date", self.provided_date))
        super().finalize_headers()  # type: ignore[misc]  # sees a date: adds none of its own

    def _sendall(self, data: bytes) -> None:
        # gevent's sendall asks the kernel for the send buffer size before every send, to cut
        # the data in chunks; a response mostly goes in one send, so try that first.
        try:
            sent = self.socket.send(data)
            if sent < len(data):
                self.socket.sendall(memoryview(data)[sent:])
        except OSError as ex:
            self.status = f"socket error: {ex}"  # as pywsgi's, for its error handling and log
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += len(data)

    def _write_with_headers(self, data: bytes) -> None:
        self.headers_sent = True
        self.finalize_headers()
        head = bytearray(b"HTTP/1.1 ")
        head += self.status
        head += b"\r\n"
        for name, value in self.response_headers:
            head += name
            head += b": "
            head += value
            head += b"\r\n"
        head += b"\r\n"
        if data and not self.response_use_chunked and len(data) <= ONE_SEND_LIMIT:
            head += data
            self._sendall(head)  # type: ignore[attr-defined]
            return
        self._sendall(head)  # type: ignore[attr-defined]
        self._write(data)  # type: ignore[attr-defined]
