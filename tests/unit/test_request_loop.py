"""serving/request_loop.py: the requests of one keep-alive connection, as the application sees them."""

from __future__ import annotations

from gevent import socket
from gevent.pywsgi import WSGIServer

from config import load_profile
from serving.handler import standalone_handler

HEADERS = "Host: h\r\nAccept: */*\r\nUser-Agent: t\r\n"


def serve(app):
    server = WSGIServer(("127.0.0.1", 0), app, handler_class=standalone_handler(load_profile(environ={})))
    server.start()
    return server


def exchange(sock, request: bytes) -> bytes:
    sock.sendall(request)
    answer = b""
    while not answer.endswith(b"\r\n\r\nok") and not answer.endswith(b"done"):
        chunk = sock.recv(65536)
        assert chunk, answer
        answer += chunk
    return answer


def test_each_request_of_a_connection_gets_its_own_environ_from_the_same_headers():
    seen: list[dict] = []

    def app(environ, start_response):
        body = environ["wsgi.input"].read()
        seen.append({**environ, "body": body})
        environ["HTTP_ACCEPT"] = "changed by the app"  # must not reach the next request
        environ["X_ADDED"] = "by the app"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = serve(app)
    try:
        sock = socket.create_connection(server.address)
        exchange(sock, f"GET /a?x=1 HTTP/1.1\r\n{HEADERS}\r\n".encode())
        exchange(sock, f"GET /b%20c?y=2 HTTP/1.1\r\n{HEADERS}\r\n".encode())  # the same block again
        exchange(sock, f"GET /f?z=3 HTTP/1.1\r\n{HEADERS}\r\n".encode())  # and again
        exchange(sock, f"POST /d HTTP/1.1\r\n{HEADERS}Content-Length: 2\r\n\r\nhi".encode())
        exchange(sock, f"GET /e HTTP/1.1\r\n{HEADERS}X-Late: 1\r\n\r\n".encode())  # another block
        sock.close()
    finally:
        server.stop()
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
    seen: list[tuple[str, bytes]] = []

    def app(environ, start_response):
        seen.append((environ["PATH_INFO"], environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = serve(app)
    try:
        sock = socket.create_connection(server.address)
        exchange(sock, f"GET /1 HTTP/1.1\r\n{HEADERS}\r\n".encode())
        chunked = f"POST /2 HTTP/1.1\r\n{HEADERS}Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
        exchange(sock, chunked.encode())  # pywsgi's own path
        exchange(sock, f"GET /3 HTTP/1.1\r\n{HEADERS}\r\n".encode())
        sock.close()
    finally:
        server.stop()
    assert seen == [("/1", b""), ("/2", b"hi"), ("/3", b"")]


def test_the_heads_shared_between_connections_are_bounded(monkeypatch):
    from serving import request_loop

    monkeypatch.setattr(request_loop, "_SHARED_HEADS", {})
    monkeypatch.setattr(request_loop, "SHARED_HEADS_LIMIT", 3)
    seen: list[str] = []

    def app(environ, start_response):
        seen.append(environ["HTTP_X_N"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = serve(app)
    try:
        sock = socket.create_connection(server.address)
        for n in range(8):  # a header block made up for each request
            exchange(sock, f"GET / HTTP/1.1\r\n{HEADERS}X-N: {n}\r\n\r\n".encode())
        other = socket.create_connection(server.address)
        exchange(other, f"GET / HTTP/1.1\r\n{HEADERS}X-N: first\r\n\r\n".encode())
        exchange(other, f"GET / HTTP/1.1\r\n{HEADERS}X-N: 7\r\n\r\n".encode())  # the other's last block
        sock.close()
        other.close()
    finally:
        server.stop()
    assert seen == [str(n) for n in range(8)] + ["first", "7"]
    assert len(request_loop._SHARED_HEADS) == 3
