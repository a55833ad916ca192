"""The page says why, in real Chromium against gunicorn from the Procfile.

A refused origin shows the gate's code and message; a WebSocket refused on the way names the reason
at once, and a reload names the remembered failure; while the gateway is down the page shows the
attempt and when the next one starts; a rate-limited message says so by the message; the labels and
the live region are there for a screen reader; members are refreshed by the rejoin after a reconnect.
"""

from __future__ import annotations

import re
import uuid

import pytest
from blocking_proxy import UpgradeBlockingProxy
from chat_client import ChatUser
from chat_page import ChatPage
from other_origin import OtherOrigin
from playwright.sync_api import expect

HELLO = "Hello back!"


def new_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("gateway", ["web_role", "worker_role"])
def test_a_refused_origin_shows_the_gates_code_and_message(request, gateway, contexts):
    served = request.getfixturevalue(gateway)
    with OtherOrigin(served.port) as site:
        page = ChatPage(contexts(), site.url)
        page.wait_status("refused")
        refusal = page.page.locator("#refusal")
        expect(refusal).to_contain_text("origin_not_allowed: origin http://127.0.0.2:")
        expect(refusal).to_contain_text("GATEWAY_ALLOWED_ORIGINS")
        # It keeps trying (an operator may fix the setting), and says when.
        expect(page.page.locator("#retry")).to_have_text(re.compile(r"^attempt \d+ (in \d+ s|: trying now)"))
        assert not page.page.locator("#over").is_visible()
        page.screenshot(f"why-refused-origin-{served.env['GATEWAY_PROFILE']}")
    assert "(origin_not_allowed)" in served.log()


def test_a_websocket_only_page_learns_the_refusal_with_one_diagnostic_request(start_gateway, contexts):
    gateway = start_gateway(GATEWAY_TRANSPORTS="websocket")
    with OtherOrigin(gateway.port) as site:
        page = ChatPage(contexts(), site.url)
        page.wait_status("refused")
        expect(page.page.locator("#refusal")).to_contain_text("origin_not_allowed")
        page.page.wait_for_timeout(3000)  # more attempts, no more diagnostics
    assert gateway.log().count("refused polling request") == 1


def test_websocket_refused_by_a_proxy_says_so_at_once_and_a_reload_says_it_is_remembered(
    worker_role, contexts
):
    context = contexts()
    with UpgradeBlockingProxy(worker_role.port) as proxy:
        page = ChatPage(context, proxy.url)
        page.wait_status("connected")
        assert page.text("transport") == "polling"
        expect(page.page.locator("#transport-why")).to_have_text("a proxy on the way refused WebSocket")
        expect(page.page.locator("#over")).to_be_visible()  # "over polling: a proxy on the way..."
        page.screenshot("why-proxy-refused-websocket")
        page.page.reload()
        page.wait_status("connected")
        expect(page.page.locator("#transport-why")).to_have_text(
            "remembered from a failed WebSocket less than a minute ago (a proxy on the way refused WebSocket)"
        )
        assert proxy.refused_upgrades == 1


def test_the_profile_that_allows_no_websocket_says_so(web_role, contexts):
    page = ChatPage(contexts(), web_role.url)
    page.wait_status("connected")
    expect(page.page.locator("#transport-why")).to_have_text("the profile allows no WebSocket")


def test_while_the_gateway_is_down_the_page_shows_the_attempt_and_when_it_retries(start_gateway, contexts):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    page = ChatPage(contexts(), gateway.url)
    page.wait_status("connected")
    assert page.page.locator("#over").is_visible()
    gateway.stop(kill=True)
    page.wait_status("reconnecting")
    retry = page.page.locator("#retry")
    expect(retry).to_have_text(
        re.compile(r"^attempt (?:[2-9]|\d{2,}) in \d s \(at \d+:\d\d:\d\d\)$"), timeout=20_000
    )
    # Not "reconnecting over none": the transport line is hidden while there is no transport.
    assert not page.page.locator("#over").is_visible()
    assert page.text("refusal") == ""
    page.screenshot("why-gateway-down")
    gateway.restart()
    page.wait_status("connected", seconds=30)
    expect(retry).to_have_text("")


def test_a_rate_limited_message_says_so_and_goes_when_allowed(start_gateway, contexts):
    gateway = start_gateway(GATEWAY_MESSAGES_PER_SECOND="0.3", GATEWAY_MESSAGE_BURST="1")
    page = ChatPage(contexts(), gateway.url)
    page.join("ann", new_room())
    page.send("one")
    page.wait_texts(["one"])
    page.send("two")
    waiting = page.page.locator("#messages li.rate-limited .time")
    expect(waiting).to_have_text(re.compile(r"^rate limited: sending again in \d(\.\d)? s$"))
    page.screenshot("why-rate-limited")
    page.wait_texts(["one", "two"], seconds=10)
    assert waiting.count() == 0


def test_labels_live_region_and_messages_read_with_name_and_time(worker_role, contexts):
    page = ChatPage(contexts(), worker_role.url)
    page.wait_status("connected")
    p = page.page
    live = p.locator("#connection")
    assert live.get_attribute("role") == "status" and live.get_attribute("aria-live") == "polite"
    # The round trip and the retry countdown change often: outside the live region.
    assert p.locator("#connection #rtt, #connection #retry").count() == 0
    p.get_by_label("Name").fill("ann")
    p.get_by_label("Room").fill(new_room())
    p.get_by_role("button", name="Join").press("Enter")
    expect(p.locator("#members")).to_contain_text("ann")
    box = p.get_by_role("textbox", name="Message")
    assert box.get_attribute("id") == "text"
    box.fill("Hi Bob")
    box.press("Enter")  # the keyboard alone sends
    page.wait_texts(["Hi Bob"])
    # What a screen reader reads of the message: its text content, hidden punctuation included.
    item = p.locator("#messages li[data-id]")
    assert re.fullmatch(r"ann: Hi Bob, \d{1,2}:\d\d", item.text_content()), item.text_content()
    assert item.locator("bdi.name").count() == item.locator("bdi.text").count() == 1
    assert p.locator("#messages").get_attribute("aria-live") == "polite"
    p.get_by_role("button", name="Say hello").press("Enter")
    expect(p.locator("#round-trip")).to_have_text(re.compile(r"^round trip \d+ ms$"))


def test_members_are_refreshed_by_the_rejoin_after_a_reconnect(worker_role, contexts):
    room = new_room()
    ann_context = contexts()
    ann = ChatPage(ann_context, worker_role.url)
    bob = ChatPage(contexts(), worker_role.url)
    ann.join("ann", room)
    bob.join("bob", room)
    expect(ann.page.locator("#members")).to_have_text("In the room: ann, bob")

    ann_context.set_offline(True)
    ann.wait_status("reconnecting")
    members = ann.page.locator("#members")
    expect(members).to_have_text("In the room when the connection dropped: ann, bob")
    assert "stale" in members.get_attribute("class")
    carl = ChatUser(worker_role.url, ["polling"], name="carl")
    try:
        carl.join(room)
        bob.join("bob", new_room())  # bob moves on while ann cannot hear it
        expect(bob.page.locator("#members")).to_have_text("In the room: bob")
        ann_context.set_offline(False)
        ann.wait_status("connected", seconds=30)
        expect(members).to_have_text("In the room: ann, carl", timeout=15_000)
        assert "stale" not in members.get_attribute("class")
    finally:
        carl.close()
    expect(members).to_have_text("In the room: ann")
