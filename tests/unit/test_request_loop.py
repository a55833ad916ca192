"""serving/request_loop.py: the requests of keep-alive connections, as the application sees them."""

from __future__ import annotations

from gevent import socket
from gevent.pywsgi import WSGIServer

from config import load_profile
from serving.handler import standalone_handler

HEADERS = "Host: h\r\nAccept: */*\r\nUser-Agent: t\r\n"


def get(target: str, extra: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\n{HEADERS}{extra}\r\n".encode()


def served(*connections: list[bytes]) -> list[dict]:
    """Each connection's requests sent in turn, one answer awaited each; the environs the application
    saw (with the body it read), in order. The application changes each environ after reading it."""
    seen: list[dict] = []

    def app(environ, start_response):
        seen.append({**environ, "body": environ["wsgi.input"].read()})
        environ["HTTP_ACCEPT"] = "changed by the app"  # must not reach another request
        environ["X_ADDED"] = "by the app"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = WSGIServer(("127.0.0.1", 0), app, handler_class=standalone_handler(load_profile(environ={})))
    server.start()
    try:
        for requests in connections:
            sock = socket.create_connection(server.address)
            for request in requests:
                sock.sendall(request)
                answer = b""
                while not answer.endswith(b"\r\n\r\nok"):
                    chunk = sock.recv(65536)
                    assert chunk, answer
                    answer += chunk
            sock.close()
    finally:
        server.stop()
    return seen


def test_each_request_of_a_connection_gets_its_own_environ_from_the_same_headers():
    seen = served(
        [
            get("/a?x=1"),
            get("/b%20c?y=2"),  # the same header block again
            get("/f?z=3"),  # and again
            f"POST /d HTTP/1.1\r\n{HEADERS}Content-Length: 2\r\n\r\nhi".encode(),
            get("/e", "X-Late: 1\r\n"),  # another block
        ]
    )
    assert [(e["REQUEST_METHOD"], e["PATH_INFO"], e["QUERY_STRING"], e["body"]) for e in seen] == [
        ("GET", "/a", "x=1", b""),
        ("GET", "/b c", "y=2", b""),
        ("GET", "/f", "z=3", b""),
        ("POST", "/d", "", b"hi"),
        ("GET", "/e", "", b""),
    ]
    assert all(e["HTTP_ACCEPT"] == "*/*" and "X_ADDED" not in e for e in seen)
    assert [e.get("CONTENT_LENGTH") for e in seen] == [None, None, None, "2", None]
    assert [e.get("HTTP_X_LATE") for e in seen] == [None, None, None, None, "1"]
    assert seen[0]["wsgi.input"] is not seen[1]["wsgi.input"]


def test_a_request_after_an_uncommon_one_on_the_same_connection_is_read_right():
    chunked = f"POST /2 HTTP/1.1\r\n{HEADERS}Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
    seen = served([get("/1"), chunked.encode(), get("/3")])  # the chunked one: pywsgi's own path
    assert [(e["PATH_INFO"], e["body"]) for e in seen] == [("/1", b""), ("/2", b"hi"), ("/3", b"")]


def test_the_heads_shared_between_connections_are_bounded(monkeypatch):
    from serving import request_loop

    monkeypatch.setattr(request_loop, "_SHARED_HEADS", {})
    monkeypatch.setattr(request_loop, "SHARED_HEADS_LIMIT", 3)
    made_up = [get("/", f"X-N: {n}\r\n") for n in range(8)]  # a header block made up for each request
    other = [get("/", "X-N: first\r\n"), get("/", "X-N: 7\r\n")]  # then the first's last block
    seen = served(made_up, other)
    assert [e["HTTP_X_N"] for e in seen] == [str(n) for n in range(8)] + ["first", "7"]
    # The last request's parsed block came from the first connection; its port is its own.
    assert seen[-1]["REMOTE_PORT"] == seen[-2]["REMOTE_PORT"] != seen[0]["REMOTE_PORT"]
    assert len(request_loop._SHARED_HEADS) == 3
