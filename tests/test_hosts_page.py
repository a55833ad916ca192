"""The chat page in real Chromium behind the simulated hosts (real nginx from deploy/nginx/)."""

from __future__ import annotations

import time
import urllib.request

import pytest
from chat_page import ChatPage, open_context
from playwright.sync_api import expect
from test_hosts import address, two_gateways, websocket_requests

HELLO = "Hello back!"
FALLBACK_MS = 3000

#: Every text #status showed, in order, to see that a page never lost its connection.
WATCH_STATUS = """
window.__statuses = [];
document.addEventListener("DOMContentLoaded", function () {
  var status = document.getElementById("status");
  function note() {
    var shown = status.textContent;
    if (window.__statuses[window.__statuses.length - 1] !== shown) window.__statuses.push(shown);
  }
  new MutationObserver(note).observe(status, {childList: true, characterData: true, subtree: true});
  note();
});
"""


@pytest.fixture
def contexts(browser):
    """``contexts()`` opens a fresh browser context (its own storage); all closed after the test."""
    opened = []

    def new():
        context = open_context(browser)
        context.add_init_script(WATCH_STATUS)
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


def statuses(page: ChatPage) -> list[str]:
    return page.page.evaluate("window.__statuses")


def test_iis_like_front_worker_role_page_falls_back_to_polling_within_3s(
    start_gateway, start_nginx, contexts
):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    front = start_nginx("no-websocket.conf", gateway=address(gateway))
    page = ChatPage(contexts(), front.url)
    assert page.connected_after_ms() < FALLBACK_MS
    assert page.text("transport") == "polling"
    assert page.say_hello()[0] == HELLO
    assert len(page.websockets) == 1 and len(websocket_requests(front)) == 1
    assert "arrived without its Upgrade header" in gateway.log()


def test_iis_like_front_web_role_page_makes_no_websocket_attempt(start_gateway, start_nginx, contexts):
    gateway = start_gateway(GATEWAY_PROFILE="iis")
    front = start_nginx("no-websocket.conf", gateway=address(gateway))
    ann, bob = ChatPage(contexts(), front.url), ChatPage(contexts(), front.url)
    ann.join("ann", "lobby")
    bob.join("bob", "lobby")
    ann.send("hi bob")
    bob.wait_texts(["hi bob"])
    assert ann.say_hello()[0] == HELLO
    assert ann.websockets == bob.websockets == [] and websocket_requests(front) == []
    assert ann.console_errors == bob.console_errors == []


def test_short_idle_front_never_cuts_the_pages_long_poll(start_gateway, start_nginx, contexts):
    gateway = start_gateway(
        GATEWAY_PROFILE="web-role", GATEWAY_HOST_IDLE_LIMIT="4", GATEWAY_PING_INTERVAL="3"
    )
    front = start_nginx("websocket.conf", gateway=address(gateway), read_timeout="4s")
    page = ChatPage(contexts(), front.url)
    page.wait_status("connected")
    time.sleep(10)  # two and a half of the front's idle limits, with nothing to say
    assert statuses(page)[-1] == "connected"
    assert statuses(page).count("connected") == 1, statuses(page)  # never lost and regained
    assert page.say_hello()[0] == HELLO
    assert 504 not in front.statuses()


def test_pages_on_two_processes_chat_through_sticky_sid_routing(
    start_gateway, start_nginx, redis_server, contexts
):
    g1, g2, front = two_gateways(start_gateway, start_nginx, redis_server)
    pages = []
    for _ in range(6):  # handshakes spread over both processes; bounded
        page = ChatPage(contexts(), front.url)
        page.wait_status("connected")
        pages.append(page)
        if "user connected" in g1.log() and "user connected" in g2.log():
            break
        # nginx spreads requests without a sid round-robin: a page's own requests (the page, its
        # scripts, the handshake) may be an even number, which would send every handshake to the
        # same process. One more request shifts the turn.
        urllib.request.urlopen(front.url + "/healthz", timeout=5).close()
    assert "user connected" in g1.log() and "user connected" in g2.log()
    names = [f"user{i}" for i in range(len(pages))]
    for page, name in zip(pages, names, strict=True):
        page.join(name, "lobby")
    for page in pages:
        expect(page.page.locator("#members")).to_contain_text(names[-1])
    pages[0].send("from the first")
    pages[-1].send("from the last")
    for page in pages:
        page.wait_texts(["from the first", "from the last"])
    assert 400 not in front.statuses()
