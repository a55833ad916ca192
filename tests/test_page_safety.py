"""What a user (and an attacker's page) sees of page and host safety, against gunicorn from the Procfile.

The page's headers; a page on another site cannot frame the chat (Chromium), unless the profile names
it; the CSP leaves the page working with no violation; a JSONP handshake is refused; a wrong Host gets
host_not_allowed; forwarded headers count only as far as proxy_hops trusts them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat_page import ChatPage, open_context
from conftest import free_port
from playwright.sync_api import expect
from wire import get

#: A second site: loopback, but another address, so another origin and another site than 127.0.0.1.
OTHER_SITE = "127.0.0.2"

#: Records every CSP violation the page reports, before any page script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


class FramingSite:
    """A page on another origin whose only content is an iframe of ``target``."""

    def __init__(self, target: str, port: int | None = None) -> None:
        html = f'<!DOCTYPE html><title>elsewhere</title><iframe id="chat" src="{target}/"></iframe>'.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((OTHER_SITE, port or 0), Handler)
        self.url = f"http://{OTHER_SITE}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def framing_site() -> Iterator:
    started: list[FramingSite] = []

    def start(target: str, port: int | None = None) -> FramingSite:
        site = FramingSite(target, port)
        started.append(site)
        return site

    yield start
    for site in started:
        site.stop()


@pytest.fixture
def context(browser):
    opened = open_context(browser)
    opened.add_init_script(WATCH_CSP)
    yield opened
    opened.close()


def headers_of(url: str, path: str = "/") -> dict[str, str]:
    import urllib.request

    with urllib.request.urlopen(url + path, timeout=10) as response:
        return {k.lower(): v for k, v in response.headers.items()}


def polling_handshake(
    url: str, headers: dict[str, str], query: str = "EIO=4&transport=polling"
) -> tuple[int, str]:
    return get(url, f"/socket.io/?{query}", headers)


def test_the_page_and_its_files_carry_the_safety_headers(worker_role):
    for path in ("/", "/static/chat.js", "/static/page.css", "/vendor/socket.io.min.js"):
        headers = headers_of(worker_role.url, path)
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path


@pytest.mark.parametrize("gateway", ["web_role", "worker_role"])
def test_the_page_works_under_its_csp_with_no_violation(request, gateway, context):
    url = request.getfixturevalue(gateway).url
    page = ChatPage(context, url)
    page.wait_status("connected")
    assert page.say_hello()[0] == "Hello back!"
    assert page.page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []
    # The policy is really in force: an injected inline script is refused, and reported.
    page.page.evaluate(
        "() => { var s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.appendChild(s); }"
    )
    expect(page.page.locator("body")).to_be_visible()
    assert page.page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in page.page.evaluate("window.__cspViolations"))


def test_a_page_on_another_site_cannot_frame_the_chat(worker_role, framing_site, context):
    site = framing_site(worker_role.url)
    messages: list[str] = []
    page = context.new_page()
    page.on("console", lambda message: messages.append(message.text))
    page.goto(site.url)
    frame = page.frame_locator("#chat")
    page.wait_for_timeout(1000)
    assert frame.locator("#status").count() == 0
    assert page.frames[1].url.startswith("chrome-error://")
    assert any("frame-ancestors 'none'" in m for m in messages), messages


def test_a_site_named_in_frame_ancestors_can_frame_the_chat(start_gateway, framing_site, context):
    port = free_port()
    gateway = start_gateway(GATEWAY_FRAME_ANCESTORS=f"http://{OTHER_SITE}:{port}")
    assert "x-frame-options" not in headers_of(gateway.url)
    site = framing_site(gateway.url, port)
    page = context.new_page()
    page.goto(site.url)
    expect(page.frame_locator("#chat").locator("#status")).to_have_text("connected", timeout=15_000)


def test_a_jsonp_handshake_is_refused_with_its_code(worker_role):
    status, body = polling_handshake(worker_role.url, {}, "EIO=4&transport=polling&j=0")
    assert status == 400 and json.loads(body)["code"] == "jsonp_not_allowed"
    assert "jsonp_not_allowed" in worker_role.log()


def test_jsonp_works_where_a_profile_turns_it_on(start_gateway):
    gateway = start_gateway(GATEWAY_ALLOW_JSONP="true")
    status, body = polling_handshake(gateway.url, {}, "EIO=4&transport=polling&j=0")
    assert status == 200 and body.startswith("___eio[0](")


def test_a_wrong_host_gets_400_host_not_allowed_on_every_path(start_gateway):
    gateway = start_gateway(GATEWAY_ALLOWED_HOSTS="127.0.0.1,chat.example.com")
    for path in ("/", "/healthz", "/socket.io/?EIO=4&transport=polling"):
        status, body = get(gateway.url, path, {"Host": "rebound.attacker.example"})
        assert status == 400, path
        assert json.loads(body)["code"] == "host_not_allowed", path
    assert get(gateway.url, "/", {"Host": "chat.example.com"})[0] == 200
    assert get(gateway.url, "/healthz")[0] == 200  # 127.0.0.1:<port>, listed without a port
    assert "refused GET / from 127.0.0.1 (host_not_allowed)" in gateway.log()


@pytest.mark.parametrize("mode", ["gevent", "threading"])
def test_a_spoofed_x_forwarded_host_does_not_make_a_foreign_origin_same_origin(start_gateway, mode):
    """In threading mode gunicorn's gthread worker read X-Forwarded-Proto itself from 127.0.0.1."""
    gateway = start_gateway(GATEWAY_PROXY_HOPS="0", GATEWAY_ASYNC_MODE=mode)
    spoof = {
        "Origin": "https://evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9",
    }
    status, body = polling_handshake(gateway.url, spoof)
    assert status == 400 and json.loads(body)["code"] == "origin_not_allowed"
    # The claimed address is not believed either: the log names the real peer.
    assert "refused polling request from 127.0.0.1 (origin_not_allowed)" in gateway.log()
    assert "203.0.113.9" not in gateway.log()
    # And with no proxy trusted, a claimed https does not make an https Origin this gateway's own.
    status, body = polling_handshake(
        gateway.url, {"Origin": f"https://127.0.0.1:{gateway.port}", "X-Forwarded-Proto": "https"}
    )
    assert status == 400 and json.loads(body)["code"] == "origin_not_allowed"


def test_one_trusted_hop_takes_the_proxys_scheme_and_client_address(worker_role):
    """The default (proxy_hops 1): what Heroku's router or nginx says about the client is believed."""
    headers = {
        "Origin": f"https://127.0.0.1:{worker_role.port}",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "198.51.100.23",
    }
    assert polling_handshake(worker_role.url, headers)[0] == 200
    status, _ = polling_handshake(
        worker_role.url, {**headers, "Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}
    )
    assert status == 400
    assert "refused polling request from 198.51.100.23 (origin_not_allowed)" in worker_role.log()
