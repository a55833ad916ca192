"""The header reader and the response writer of serving/http11.py, fed and read as bytes."""

from __future__ import annotations

import http.client
import io

import pytest
from gevent.pywsgi import WSGIHandler

from serving.http11 import (
    LINE_TOO_LONG,
    MAX_HEADERS,
    ONE_SEND_LIMIT,
    FastHeaders,
    FastResponses,
    MalformedHeader,
    RequestHeaders,
)


def read(block: bytes) -> RequestHeaders:
    return RequestHeaders.read(io.BufferedReader(io.BytesIO(block)))


def test_fields_are_read_in_order_up_to_the_blank_line_and_the_body_is_left():
    rfile = io.BufferedReader(io.BytesIO(b"Host: a\r\nContent-Type:  text/plain \r\nX-Two: 1\r\n\r\nBODY"))
    headers = RequestHeaders.read(rfile)
    assert headers.fields == [("Host", "a"), ("Content-Type", "text/plain"), ("X-Two", "1")]
    assert rfile.read() == b"BODY"
    assert headers.get("content-type") == headers.typeheader == "text/plain"
    assert headers.getheader("HOST") == "a" and "x-two" in headers
    assert headers.get("missing", "d") == "d" and headers.status == ""


def test_a_repeated_field_keeps_every_value_and_get_answers_the_first():
    headers = read(b"Cookie: a=1\r\nCookie: b=2\n\n")
    assert headers.get("Cookie") == "a=1"
    assert headers.items() == [("Cookie", "a=1"), ("Cookie", "b=2")]
    assert list(headers.headers) == ["Cookie: a=1\r\n", "Cookie: b=2\r\n"]


def test_deleting_a_field_removes_every_copy():
    headers = read(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\ncontent-length: 6\r\n\r\n")
    del headers["Content-Length"]
    assert headers.get("content-length") is None
    assert headers.fields == [("Transfer-Encoding", "chunked")]


def test_the_end_of_the_stream_ends_the_headers():
    assert read(b"Host: a\r\n").fields == [("Host", "a")]


@pytest.mark.parametrize(
    "line",
    [b"no colon here", b": empty name", b"Host : space before colon", b"Two Words: x", b" folded: line"],
)
def test_a_malformed_line_is_refused(line):
    # pywsgi answers a ValueError with 400; the e-mail parser let these through.
    with pytest.raises(MalformedHeader):
        read(b"Host: a\r\n" + line + b"\r\n\r\n")
    assert issubclass(MalformedHeader, ValueError)


def test_more_than_the_limit_of_fields_raises_what_the_431_answers():
    block = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS)) + b"\r\n"
    assert len(read(block).fields) == MAX_HEADERS
    with pytest.raises(http.client.HTTPException):
        read(b"X-extra: v\r\n" + block)


def test_a_line_over_the_limit_is_marked_as_pywsgi_marks_it():
    assert read(b"X-Big: " + b"v" * 70_000 + b"\r\n\r\n").status == LINE_TOO_LONG


class _Handler(FastHeaders, FastResponses, WSGIHandler):
    """pywsgi's handler with the mixins, on a fake socket that records each send."""

    def __init__(self) -> None:  # no connection: only the methods under test run
        self.sent: list[bytes] = []
        self.request_version = "HTTP/1.1"
        self.response_length = 0

        sent = self.sent

        class Sock:
            @staticmethod
            def send(data: bytes) -> int:
                sent.append(bytes(data))
                return len(data)

        self.socket = Sock()


def test_environ_keys_drop_names_with_underscores_and_the_two_cgi_ones():
    handler = _Handler()
    handler.headers = read(b"X-Forwarded-For: 1.2.3.4\r\nX_Forwarded_For: 6.6.6.6\r\nContent-Type: a\r\n\r\n")
    assert list(handler._headers()) == [("HTTP_X_FORWARDED_FOR", "1.2.3.4")]


def respond(body: bytes, headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    handler = _Handler()
    handler.start_response("200 OK", headers if headers is not None else [("Content-Length", str(len(body)))])
    handler.write(body)
    return handler.sent


def test_a_small_response_is_one_send_with_a_date():
    sent = respond(b"hello")
    assert len(sent) == 1
    head, _, body = bytes(sent[0]).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: ") and head.endswith(b" GMT")
    assert body == b"hello"


def test_a_large_or_chunked_body_goes_after_its_headers():
    big = b"x" * (ONE_SEND_LIMIT + 1)
    sent = respond(big)
    assert len(sent) == 2 and bytes(sent[1]) == big
    chunked = respond(b"part", headers=[])  # no length: chunked
    assert b"Transfer-Encoding: chunked" in bytes(chunked[0])
    assert bytes(chunked[1]) == b"4\r\npart\r\n"


def test_a_date_given_by_the_application_is_kept():
    sent = respond(b"", headers=[("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Content-Length", "0")])
    assert bytes(sent[0]).count(b"Date:") == 1


def test_what_one_send_leaves_goes_through_sendall_and_the_length_counts_all():
    handler = _Handler()
    sent: list[bytes] = []

    class SlowSock:
        @staticmethod
        def send(data: bytes) -> int:
            sent.append(bytes(data[:10]))
            return 10

        @staticmethod
        def sendall(data: memoryview) -> None:
            sent.append(bytes(data))

    handler.socket = SlowSock()
    handler.start_response("200 OK", [("Content-Length", "5")])
    handler.write(b"hello")
    assert b"".join(sent).endswith(b"\r\n\r\nhello") and len(sent) == 2
    assert handler.response_length == len(b"".join(sent))


@pytest.mark.parametrize(
    "block",
    [
        b"Host: a\r\nContent-Type:  text/plain \r\nX-Two: 1\r\n",
        b"Cookie: a=1\r\ncookie: b=2\r\nAccept: */*\r\n",
        b"Empty:\r\nTabs:\t v \t\r\nOdd!#$%&'*+.^_`|~: x:y\r\n",
        b"",
    ],
)
def test_a_whole_block_parses_as_the_line_reader_reads_it(block):
    by_lines = read(block + b"\r\n")
    whole = RequestHeaders.parse_block(block.decode("latin-1"))
    assert whole is not None
    assert whole.fields == by_lines.fields
    assert whole.by_name == by_lines.by_name
    assert whole.repeated == by_lines.repeated == (b"ookie" in block)


@pytest.mark.parametrize(
    "block",
    [
        b"Host: a\r\n Folded: b\r\n",  # obsolete folding
        b"Bad Name: x\r\n",
        b"Host : a\r\n",
        b"NoColon\r\n",
        b"Host: a\nX: b\r\n",  # a bare LF
        b"(Paren): x\r\n",  # not a token: the line reader decides
        b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1)),
    ],
)
def test_a_block_that_is_not_plainly_well_formed_is_left_to_the_line_reader(block):
    assert RequestHeaders.parse_block(block.decode("latin-1")) is None


def test_header_names_kept_for_a_websockets_life_are_shared_and_the_table_is_bounded(monkeypatch):
    from serving import http11

    first, second = read(b"Host: a\r\nX-Two: 1\r\n\r\n"), read(b"Host: b\r\nX-Two: 2\r\n\r\n")
    first.drop_index()  # what a WebSocket's handover does
    second.drop_index()
    assert first.fields[0][0] is second.fields[0][0] and first.get("x-two") == "1"
    assert http11.name_forms("Content-Type") == ("Content-Type", "content-type", None)
    assert http11.name_forms("X_Forwarded_For")[2] is None  # dropped, as pywsgi drops it
    assert http11.name_forms("Sec-WebSocket-Key")[1:] == ("sec-websocket-key", "HTTP_SEC_WEBSOCKET_KEY")
    monkeypatch.setattr(http11, "_NAMES", {})
    monkeypatch.setattr(http11, "NAMES_LIMIT", 2)
    for name in ("A-1", "A-2", "A-3"):
        assert http11.name_forms(name) == (name, name.lower(), "HTTP_" + name.replace("-", "_"))
    assert list(http11._NAMES) == ["A-1", "A-2"]


def test_a_dropped_index_is_rebuilt_with_the_same_answers():
    headers = read(b"Host: a\r\nContent-Type: text/plain\r\nX-Two: 1\r\nx-two: 2\r\n\r\n")
    before = (headers.get("X-TWO"), "host" in headers, headers.typeheader, headers.items())
    headers.drop_index()
    assert (headers.get("X-TWO"), "host" in headers, headers.typeheader, headers.items()) == before
    assert before[0] == "1"
