"""The page signs in (static/auth.js), in real Chromium, against a real gunicorn gateway with auth=jwt."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat_client import wait_for
from chat_page import ChatPage
from conftest import free_port
from playwright.sync_api import expect
from test_auth import JWT, SECRET

from auth import mint


class TokenServer:
    """The site's own sign-in endpoint, as a tiny HTTP server on the same host (same site)."""

    def __init__(self, page_origin: str, ttl: float) -> None:
        self.ttl = ttl
        self.handed_out = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.handed_out += 1
                body = json.dumps(
                    {"token": mint(SECRET, "alice", "Alice", ttl=server.ttl, audience="rolegate-tests")}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                # Same site, another port: another origin, so the page's credentialed GET needs CORS.
                self.send_header("Access-Control-Allow-Origin", page_origin)
                self.send_header("Access-Control-Allow-Credentials", "true")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/chat-token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()


def new_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


def socketio_requests(page: ChatPage) -> list[str]:
    return [
        url for url in page.page.evaluate("performance.getEntries().map(e => e.name)") if "/socket.io/" in url
    ]


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "no-websocket"])
def test_a_token_in_the_address_signs_in_and_is_removed(start_gateway, contexts, websocket):
    gateway = start_gateway(**JWT)
    token = mint(SECRET, "alice", "Alice", ttl=600, audience="rolegate-tests")
    page = ChatPage(contexts(websocket=websocket), f"{gateway.url}/#token={token}")
    page.wait_status("connected")
    assert token not in page.page.url and page.page.url.rstrip("/") == gateway.url
    assert page.text("transport") == ("websocket" if websocket else "polling")
    expect(page.page.locator("#identity")).to_have_text("Signed in as Alice.")
    room = new_room()
    page.join("Alice", room)
    page.send("hello from a signed-in page")
    page.wait_texts(["hello from a signed-in page"])
    assert [m["name"] for m in page.messages()] == ["Alice"]
    assert not page.console_errors


def test_without_a_token_the_page_says_what_is_missing_and_does_not_connect(start_gateway, contexts):
    gateway = start_gateway(**JWT)
    page = ChatPage(contexts(), gateway.url + "/")
    page.wait_status("disconnected")
    expect(page.page.locator("#notice")).to_contain_text("needs a sign-in token")
    page.page.wait_for_timeout(1500)
    assert socketio_requests(page) == []


def test_a_refused_token_is_said_and_not_retried_forever(start_gateway, contexts):
    gateway = start_gateway(**JWT)
    forged = mint("forged-" + "f" * 32, "alice", ttl=600, audience="rolegate-tests")
    page = ChatPage(contexts(), f"{gateway.url}/#token={forged}")
    expect(page.page.locator("#notice")).to_contain_text("Not signed in", timeout=10_000)
    page.wait_status("refused")  # the page says the server refused it, and why (#refusal)
    attempts = len(socketio_requests(page))
    page.page.wait_for_timeout(3000)
    assert len(socketio_requests(page)) == attempts


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "no-websocket"])
def test_the_page_gets_a_new_token_when_its_token_expires(start_gateway, contexts, websocket):
    port = free_port()
    tokens = TokenServer(f"http://127.0.0.1:{port}", ttl=3)
    try:
        gateway = start_gateway(port=port, GATEWAY_AUTH_TOKEN_URL=tokens.url, **JWT)
        page = ChatPage(contexts(websocket=websocket), gateway.url + "/")
        page.wait_status("connected")
        expect(page.page.locator("#identity")).to_have_text("Signed in as Alice.")
        room = new_room()
        page.join("Alice", room)
        page.send("before expiry")
        page.wait_texts(["before expiry"])
        # The token lives 3 s: the gateway says token_expired and disconnects; the page signs in again.
        wait_for(lambda: tokens.handed_out >= 2 and "token expired, disconnecting" in gateway.log())
        page.wait_status("connected")
        page.send("after a new token")
        page.wait_texts(["before expiry", "after a new token"], seconds=20)
        # Over polling, a request still in flight for the session the server closed may get Engine.IO's
        # 400 (unknown session): the browser logs that load; nothing else may go wrong.
        assert [e for e in page.console_errors if "status of 400" not in e] == []
    finally:
        tokens.stop()


def test_with_auth_none_the_page_says_names_are_not_verified(start_gateway, contexts):
    gateway = start_gateway()
    page = ChatPage(contexts(), gateway.url + "/")
    page.wait_status("connected")
    expect(page.page.locator("#identity")).to_contain_text("Names are not verified")
