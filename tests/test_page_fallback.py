"""worker-role in Chromium when the WebSocket is blocked on the way, and what the page remembers.

The page must reach a working polling connection within 3 s of page load, and a
reload in the same browser session must not try the failed WebSocket again,
unless a WebSocket already worked in that session.
"""

from __future__ import annotations

import re
import time

import pytest
from blocking_proxy import UpgradeBlockingProxy
from chat_page import ChatPage, open_context

HELLO = "Hello back!"
FALLBACK_MS = 3000


@pytest.fixture
def context(browser):
    context = open_context(browser)
    yield context
    context.close()


def test_a_proxy_that_refuses_the_upgrade_falls_back_and_a_reload_skips_websocket(worker_role, context):
    with UpgradeBlockingProxy(worker_role.port) as proxy:
        page = ChatPage(context, proxy.url)
        assert page.connected_after_ms() < FALLBACK_MS
        assert page.text("transport") == "polling"
        assert page.say_hello()[0] == HELLO
        assert proxy.refused_upgrades == 1
        # The one refused handshake is the only error the browser shows.
        assert len(page.console_errors) == 1 and "WebSocket" in page.console_errors[0]
        page.screenshot("fallback-proxy-refuses-upgrade")

        page.page.reload()
        assert page.connected_after_ms() < FALLBACK_MS
        assert page.text("transport") == "polling"
        assert page.text("transport-why").startswith("remembered from a failed WebSocket")
        assert page.say_hello()[0] == HELLO
        assert proxy.refused_upgrades == 1
        assert len(page.websockets) == 1 and len(page.console_errors) == 1


def test_a_websocket_that_hangs_is_given_up_in_time(worker_role, context):
    """A path that accepts the WebSocket and then says nothing (playwright holds it open)."""
    attempts: list[str] = []
    context.route_web_socket("**/socket.io/**", lambda ws: attempts.append(ws.url))
    page = ChatPage(context, worker_role.url)
    assert page.connected_after_ms() < FALLBACK_MS
    assert page.text("transport") == "polling"
    assert page.say_hello()[0] == HELLO
    page.page.reload()
    page.wait_status("connected")
    assert page.text("transport") == "polling"
    assert len(attempts) == 1
    assert page.console_errors == []


def test_a_hang_while_the_whole_server_is_slow_is_not_blamed_on_websocket(worker_role, context):
    """A host waking up answers nothing for a while: the fallback's polling handshake is slow too."""
    attempts: list[str] = []
    context.route_web_socket("**/socket.io/**", lambda ws: attempts.append(ws.url))
    slow = {"handshakes": 1}

    def slow_handshake(route) -> None:  # noqa: ANN001 (playwright Route)
        if "sid=" not in route.request.url and slow["handshakes"]:
            slow["handshakes"] -= 1
            time.sleep(2)  # longer than the page's 1.5 s WebSocket give-up
        route.continue_()

    context.route(re.compile(r"/socket\.io/\?.*transport=polling"), slow_handshake)
    page = ChatPage(context, worker_role.url)
    page.wait_status("connected")
    assert page.text("transport") == "polling"
    assert page.say_hello()[0] == HELLO
    page.page.reload()
    page.wait_status("connected")
    assert len(attempts) == 2  # the reload tried WebSocket again: the hang was not remembered


def test_a_failure_is_not_remembered_where_websocket_worked_in_the_session(worker_role, context):
    page = ChatPage(context, worker_role.url)
    page.wait_status("connected")
    assert page.text("transport") == "websocket"

    attempts: list[str] = []
    path = {"blocked": True}

    def route(ws) -> None:  # noqa: ANN001 (playwright WebSocketRoute)
        attempts.append(ws.url)
        if not path["blocked"]:
            ws.connect_to_server()

    page.page.route_web_socket("**/socket.io/**", route)
    for reload in (1, 2):
        page.page.reload()
        assert page.connected_after_ms() < FALLBACK_MS
        assert page.text("transport") == "polling"
        # The path broke after a WebSocket worked here: each load tries it again.
        assert len(attempts) == reload

    path["blocked"] = False  # the path heals: the next load is back on WebSocket
    page.page.reload()
    page.wait_status("connected")
    assert page.text("transport") == "websocket"
    assert page.say_hello()[0] == HELLO
    assert len(attempts) == 3


def test_a_websocket_only_profile_tells_a_browser_without_websocket_why_it_cannot_connect(
    start_gateway, browser
):
    gateway = start_gateway(GATEWAY_TRANSPORTS="websocket")
    context = open_context(browser, websocket=False)
    try:
        page = ChatPage(context, gateway.url)
        page.wait_status("disconnected")
        assert "This browser has no WebSocket" in page.text("notice")
        assert page.websockets == [] and page.console_errors == []
    finally:
        context.close()
