"""The chat page in real headless Chromium against gunicorn from the Procfile, for each built-in profile.

(a) the transport the profile expects, the hello round trip, no WebSocket attempt on web-role;
(b) without window.WebSocket: polling within 3 s, hello and chat work;
(c) two pages chat; (d) HTML in a message shows as text;
(e) a message typed while the gateway is down arrives once after it comes back.
Each case saves a screenshot under test-artifacts/.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from chat_client import ChatUser, new_room
from chat_page import ChatPage
from conftest import ROOT
from playwright.sync_api import expect

from page import CLIENT_DIST

PROFILES = ["web-role", "worker-role"]
EXPECTED_TRANSPORT = {"web-role": "polling", "worker-role": "websocket"}
HELLO = "Hello back!"
#: The issue's bound: a working polling connection within 3 s of page load.
FALLBACK_MS = 3000
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(params=PROFILES)
def gateway(request: pytest.FixtureRequest):
    """The module's gunicorn gateway for each built-in profile (conftest's web_role, worker_role)."""
    return request.getfixturevalue(request.param.replace("-", "_"))


def profile_of(gateway) -> str:  # noqa: ANN001
    return gateway.env["GATEWAY_PROFILE"]


def test_a_normal_browser_gets_the_profiles_transport_and_the_hello_round_trip(gateway, contexts):
    profile = profile_of(gateway)
    page = ChatPage(contexts(), gateway.url)
    page.wait_status("connected")
    assert page.text("transport") == EXPECTED_TRANSPORT[profile]
    assert page.text("profile") == profile
    reply, rtt = page.say_hello()
    assert reply == HELLO
    assert rtt.endswith(" ms")
    page.screenshot(f"a-normal-browser-{profile}")
    if profile == "web-role":
        assert page.websockets == []
    else:
        assert len(page.websockets) == 1 and "transport=websocket" in page.websockets[0]
    # No failed WebSocket (or anything else) in the console, on either profile.
    assert page.console_errors == []


def test_b_without_websocket_it_falls_back_to_polling_and_everything_works(gateway, contexts):
    profile = profile_of(gateway)
    page = ChatPage(contexts(websocket=False), gateway.url)
    assert page.connected_after_ms() < FALLBACK_MS
    assert page.text("transport") == "polling"
    assert page.say_hello()[0] == HELLO
    page.join("ann", new_room())
    page.send("over polling")
    page.wait_texts(["over polling"])
    page.screenshot(f"b-no-websocket-{profile}")
    assert page.websockets == []
    assert page.console_errors == []


def test_c_two_pages_chat_with_each_other(gateway, contexts):
    profile = profile_of(gateway)
    room = new_room()
    ann = ChatPage(contexts(), gateway.url)
    bob = ChatPage(contexts(), gateway.url)
    ann.join("ann", room)
    bob.join("bob", room)
    expect(ann.page.locator("#members")).to_contain_text("bob")
    ann.send("hi bob")
    bob.wait_texts(["hi bob"])
    bob.send("hi ann")
    ann.wait_texts(["hi bob", "hi ann"])
    bob.wait_texts(["hi bob", "hi ann"])
    assert [m["name"] for m in ann.messages()] == ["ann", "bob"]
    assert ann.messages() == bob.messages()
    assert ann.say_hello()[0] == HELLO
    ann.screenshot(f"c-two-pages-{profile}")
    assert ann.console_errors == bob.console_errors == []


def test_d_html_in_a_message_shows_as_text(gateway, contexts):
    profile = profile_of(gateway)
    room = new_room()
    ann = ChatPage(contexts(), gateway.url)
    bob = ChatPage(contexts(), gateway.url)
    ann.join("ann", room)
    bob.join("<b>bob</b>", room)
    ann.send(XSS)
    for page in (ann, bob):
        page.wait_texts([XSS])
        assert page.page.locator("#messages img, #messages b").count() == 0
    assert ann.text("members") == "In the room: <b>bob</b>, ann"
    # Say hello after the message: had the markup run, its alert would have come first.
    assert bob.say_hello()[0] == HELLO
    bob.screenshot(f"d-html-as-text-{profile}")
    assert ann.dialogs == bob.dialogs == []
    # An <img src=x> that rendered would have logged a failed load of /x.
    assert ann.console_errors == bob.console_errors == []


def test_f_members_follow_presence_changes_and_texts_are_isolated(gateway, contexts):
    room = new_room()
    ann = ChatPage(contexts(), gateway.url)
    bob = ChatPage(contexts(), gateway.url)
    ann.join("ann", room)
    bob.join("bob", room)
    carl = ChatUser(gateway.url, ["polling"], name="carl")  # polling: every profile allows it
    try:
        carl.join(room)
        expect(ann.page.locator("#members")).to_have_text("In the room: ann, bob, carl")
        # A right-to-left override in a text stays in the text: it cannot reorder the name before it.
        carl.say(room, "\u202eolleh")
        ann.wait_texts(["\u202eolleh"])
        shown = ann.page.eval_on_selector(
            "#messages li[data-id] .text", "t => [t.tagName, getComputedStyle(t).unicodeBidi]"
        )
        assert shown == ["BDI", "isolate"]
        assert ann.messages()[0]["name"] == "carl"
    finally:
        carl.close()
    expect(ann.page.locator("#members")).to_have_text("In the room: ann, bob")
    # Switching rooms, the page leaves the old one (a closed tab over polling is noticed only at a ping).
    bob.join("bob", new_room())
    expect(ann.page.locator("#members")).to_have_text("In the room: ann")
    assert ann.console_errors == []


@pytest.mark.parametrize("profile", PROFILES)
def test_e_a_message_typed_while_the_gateway_is_down_arrives_once(start_gateway, contexts, profile):
    gateway = start_gateway(GATEWAY_PROFILE=profile)
    room = new_room()
    ann = ChatPage(contexts(), gateway.url)
    bob = ChatPage(contexts(), gateway.url)
    ann.join("ann", room)
    bob.join("bob", room)
    ann.send("before the crash")
    bob.wait_texts(["before the crash"])

    gateway.stop(kill=True)
    ann.wait_status("reconnecting")
    ann.send("typed while down")
    pending = ann.page.locator("#messages li.pending .text")
    expect(pending).to_have_text(["typed while down"])
    ann.screenshot(f"e-while-down-{profile}")

    gateway.restart()  # same port, same database file
    ann.wait_status("connected", seconds=30)
    bob.wait_status("connected", seconds=30)
    for page in (ann, bob):
        page.wait_texts(["before the crash", "typed while down"], seconds=30)
    # Round trips after the replay: anything duplicated would have arrived by now.
    assert ann.say_hello()[0] == bob.say_hello()[0] == HELLO
    assert ann.texts() == bob.texts() == ["before the crash", "typed while down"]
    assert pending.count() == 0
    # The member list was rebuilt on rejoin (join ack, then presence changes), not kept from before.
    for page in (ann, bob):
        expect(page.page.locator("#members")).to_have_text("In the room: ann, bob")
    ids = [m["id"] for m in ann.messages()]
    assert ids == sorted(ids) and len(set(ids)) == 2
    ann.screenshot(f"e-after-restart-{profile}")


def test_every_script_the_page_loads_parses_as_es5(worker_role, contexts, tmp_path):
    """Old browsers: ours and the socket.io-client bundle, as served, parse as ECMAScript 5."""
    context = contexts()
    page = context.new_page()
    scripts: dict[str, bytes] = {}
    page.on(
        "response",
        lambda response: (
            response.request.resource_type == "script" and scripts.__setitem__(response.url, response.body())
        ),
    )
    page.goto(worker_role.url)
    expect(page.locator("#status")).to_have_text("connected", timeout=15_000)
    inline = page.eval_on_selector_all("script:not([src])", "items => items.map(s => s.type)")
    assert inline == ["application/json"], "only the policy data is inline; no inline code"
    urls = sorted(scripts)
    assert [u.removeprefix(worker_role.url) for u in urls] == [
        "/static/auth.js",
        "/static/chat.js",
        "/vendor/socket.io.min.js",
    ]
    args = []
    for url, body in scripts.items():
        path = tmp_path / url.rsplit("/", 1)[1]
        path.write_bytes(body)
        args += ["--ours", str(path)] if url.startswith(worker_role.url + "/static/") else [str(path)]
    done = subprocess.run(
        ["node", str(ROOT / "tests" / "node" / "es5check.js"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    results = json.loads(done.stdout)
    assert [r["problems"] for r in results] == [[], [], []], results
    assert done.returncode == 0


def test_es5_check_catches_modern_code(tmp_path):
    """The checker itself: it refuses what IE9 cannot run."""
    modern = tmp_path / "modern.js"
    modern.write_text("const f = () => fetch(`/x`);\n")
    apis = tmp_path / "apis.js"
    apis.write_text("var p = new Promise(function () {}); document.body.classList.add('x');\n")
    done = subprocess.run(
        ["node", str(ROOT / "tests" / "node" / "es5check.js"), str(modern), "--ours", str(apis)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    results = json.loads(done.stdout)
    assert done.returncode == 1
    assert "not ES5" in results[0]["problems"][0]
    assert results[1]["problems"] == [
        "line 1: Promise is missing in IE9",
        "line 1: .classList is missing in IE9",
    ]


@pytest.mark.parametrize("size", [(360, 740), (375, 667)])
def test_the_page_fits_a_phone(worker_role, contexts, size):
    width, height = size
    phone = contexts(
        viewport={"width": width, "height": height}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = ChatPage(phone, worker_role.url)
    page.join("ann", new_room())
    page.send("hello from a phone")
    page.wait_texts(["hello from a phone"])
    assert page.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.page.evaluate("window.scrollY") == 0
    for element_id in ("status", "transport", "hello", "name", "room", "join", "text", "send", "messages"):
        box = page.page.locator(f"#{element_id}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, element_id
        # Everything down to the message box and its button is on the first screen, unscrolled.
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, element_id
    page.screenshot(f"phone-{width}x{height}-worker-role")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_page_carries_the_profiles_client_options(make_app, profile):
    """One source: what the page connects with is transports.options.client_options, as served at /policy."""
    client = make_app(profile).test_client()
    html = client.get("/").get_data(as_text=True)
    rendered = re.search(r'<script id="policy" type="application/json">(.*?)</script>', html, re.S)
    assert rendered is not None
    assert json.loads(rendered.group(1)) == client.get("/policy").get_json()
    assert json.loads(rendered.group(1))["profile"] == profile


def test_the_client_bundle_is_the_pinned_npm_file_from_our_own_origin(client):
    served = client.get("/vendor/socket.io.min.js")
    assert served.status_code == 200
    assert served.mimetype in ("text/javascript", "application/javascript")
    assert served.data == (CLIENT_DIST / "socket.io.min.js").read_bytes()
    version = json.loads((CLIENT_DIST.parent / "package.json").read_text())["version"]
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["socket.io-client"]
    assert version == pinned
    assert f"v{version}" in served.get_data(as_text=True)[:200]
    for name in ("socket.io.js", "..%2Fpackage.json", "nothing.js"):
        assert client.get(f"/vendor/{name}").status_code == 404


@pytest.mark.parametrize("profile", PROFILES)
def test_messages_missed_while_offline_show_once_in_order(start_gateway, contexts, profile):
    gateway = start_gateway(GATEWAY_PROFILE=profile)
    room = new_room()
    context = contexts()
    ann = ChatPage(context, gateway.url)
    ann.join("ann", room)
    bob = ChatUser(gateway.url, ["polling"], name="bob")
    try:
        bob.join(room)
        bob.say(room, "seen live")
        ann.wait_texts(["seen live"])

        context.set_offline(True)
        ann.wait_status("reconnecting")
        for text in ("missed 1", "missed 2", "missed 3"):
            assert bob.say(room, text)["ok"] is True
        context.set_offline(False)

        ann.wait_status("connected", seconds=30)
        ann.wait_texts(["seen live", "missed 1", "missed 2", "missed 3"], seconds=30)
        # It asked only for what it missed: the rejoin says since = the last id it saw.
        seen_id = ann.messages()[0]["id"]
        joins = [data for _, data in ann.sent_events("join")]
        assert joins == [{"room": room, "name": "ann"}, {"room": room, "name": "ann", "since": seen_id}]
        bob.say(room, "after")
        ann.wait_texts(["seen live", "missed 1", "missed 2", "missed 3", "after"])
        ann.screenshot(f"replay-after-offline-{profile}")
    finally:
        bob.close()


def socketio_event(frame: str | bytes) -> list | None:
    """``[event, data]`` of a Socket.IO event frame sent over WebSocket, else None."""
    if not isinstance(frame, str) or not frame.startswith("42"):
        return None
    return json.loads(frame[2:].lstrip("0123456789"))  # skip the ack id


def test_a_message_whose_ack_was_lost_is_resent_with_its_client_id_and_stored_once(start_gateway, contexts):
    """The gateway stores the message, then the connection drops before the ack reaches the page."""
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    room = new_room()
    context = contexts()
    sent_messages: list[dict] = []
    cut = {"armed": False, "done": False}

    def route(ws) -> None:  # noqa: ANN001 (playwright WebSocketRoute)
        server = ws.connect_to_server()

        def from_page(frame: str | bytes) -> None:
            event = socketio_event(frame)
            if event and event[0] == "message":
                sent_messages.append(event[1])
                cut["armed"] = not cut["done"]
            server.send(frame)

        def from_server(frame: str | bytes) -> None:
            if cut["armed"] and isinstance(frame, str) and frame.startswith("43"):
                cut["armed"], cut["done"] = False, True
                ws.close(code=1001, reason="path dropped")  # the ack is lost with the connection
                server.close()
                return
            event = socketio_event(frame)
            if cut["armed"] and event and event[0] == "message":
                return  # the broadcast is lost too
            ws.send(frame)

        ws.on_message(from_page)
        server.on_message(from_server)

    context.route_web_socket("**/socket.io/**", route)
    ann = ChatPage(context, gateway.url)
    ann.join("ann", room)
    bob = ChatUser(gateway.url, ["polling"], name="bob")
    try:
        bob.join(room)
        ann.send("ack lost")
        ann.wait_texts(["ack lost"], seconds=30)
        assert ann.say_hello()[0] == HELLO
        assert cut["done"]
        assert len(sent_messages) == 2
        assert sent_messages[0]["client_id"] == sent_messages[1]["client_id"]
        assert bob.texts(room) == ["ack lost"]
        assert [m["text"] for m in bob.join(room)["history"]] == ["ack lost"]
        assert ann.texts() == ["ack lost"]
    finally:
        bob.close()


def test_refused_messages_say_why_and_rate_limited_ones_are_not_lost(start_gateway, contexts):
    gateway = start_gateway(
        GATEWAY_MESSAGES_PER_SECOND="1", GATEWAY_MESSAGE_BURST="1", GATEWAY_MAX_TEXT_LENGTH="20"
    )
    page = ChatPage(contexts(), gateway.url)
    page.join("ann", new_room())
    for text in ("one", "two", "three"):
        page.send(text)
    # Over the rate, each waits for its turn: all arrive, once, in the order typed.
    page.wait_texts(["one", "two", "three"], seconds=20)
    assert "(rate_limited)" in gateway.log()
    # The text box takes at most max_text_length; a page served before the limit was lowered does not
    # know the new one, and must still show the server's refusal.
    assert page.page.get_attribute("#text", "maxlength") == "20"
    page.page.evaluate("document.getElementById('text').removeAttribute('maxlength')")
    page.send("x" * 21)
    failed = page.page.locator("#messages li.failed")
    expect(failed.locator(".text")).to_have_text(["x" * 21])
    expect(page.page.locator("#notice")).to_contain_text("the limit is 20")
    page.screenshot("refused-and-rate-limited")
    assert page.texts() == ["one", "two", "three"]


def test_the_transport_shown_follows_an_upgrade(start_gateway, contexts):
    """A profile that starts on polling and upgrades (transports = polling, websocket)."""
    gateway = start_gateway(GATEWAY_TRANSPORTS="polling,websocket")
    page = ChatPage(contexts(), gateway.url)
    expect(page.page.locator("#transport")).to_have_text("websocket", timeout=15_000)
    # The observer starts at DOMContentLoaded, which may come after the polling handshake.
    assert [t for t in page.transports_shown() if t != "none"] == ["polling", "websocket"]
    assert page.say_hello()[0] == HELLO
    assert "upgrading from polling to websocket" in gateway.log()
