"""The Socket.IO Admin UI at /admin/, in Chromium against gunicorn from the Procfile.

It is served from the gateway's own origin (no outside site), logs in with the profile's credentials,
sees the test's own chat connection and room, and its connections pass the same gate as the page's:
the profile's origins and transports apply to the /admin namespace too.
"""

from __future__ import annotations

import json

import pytest
import socketio
from chat_page import ARTIFACTS, ChatPage
from playwright.sync_api import expect
from wire import get

PASSWORD = "correct horse battery"
ADMIN_ENV = {"GATEWAY_ADMIN_UI": "true", "GATEWAY_ADMIN_USERNAME": "ops", "GATEWAY_ADMIN_PASSWORD": PASSWORD}

#: Records every CSP violation, before any page script runs.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def log_in(page, url: str, password: str = PASSWORD) -> None:  # noqa: ANN001 (playwright Page)
    page.get_by_label("Server URL").fill(url)  # the gateway's own
    page.get_by_label("Username").fill("ops")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Connect").click()


@pytest.mark.parametrize("profile", ["worker-role", "web-role"])
def test_the_admin_ui_logs_in_and_sees_the_chat_connections_and_rooms(start_gateway, contexts, profile):
    gateway = start_gateway(GATEWAY_PROFILE=profile, **ADMIN_ENV)
    chat = ChatPage(contexts(), gateway.url)
    chat.join("ann", "watched-room")
    # The page keeps its socket to itself: its sid is in the gateway's log.
    sid = next(
        line.split("sid ")[1].split()[0]
        for line in gateway.log().splitlines()
        if "user connected: sid" in line
    )

    context = contexts(viewport={"width": 1280, "height": 800})
    context.add_init_script(WATCH_CSP)
    admin = context.new_page()
    outside: list[str] = []
    admin.on("request", lambda r: None if r.url.startswith(gateway.url) else outside.append(r.url))
    admin.goto(gateway.url + "/admin/")

    log_in(admin, gateway.url, password="not the password")
    expect(admin.get_by_text("authentication failed")).to_be_visible(timeout=10_000)

    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Connect").click()
    expect(admin.get_by_text("connected", exact=True).first).to_be_visible(timeout=10_000)
    admin.get_by_text("Sockets", exact=True).first.click()
    row = admin.locator("tr", has_text=sid)
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("WebSocket" if profile == "worker-role" else "HTTP long-polling")
    admin.get_by_text("Rooms", exact=True).first.click()
    expect(admin.locator("tr", has_text="watched-room")).to_be_visible(timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / f"admin-ui-rooms-{profile}.png"))
    assert admin.evaluate("window.__cspViolations") == []
    assert outside == []  # nothing from a CDN or a web-font site


def test_the_gate_applies_to_the_admin_namespace(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="web-role", **ADMIN_ENV)
    # A foreign origin is refused before Engine.IO, whatever namespace it would then connect to.
    status, body = get(gateway.url, "/socket.io/?EIO=4&transport=polling", {"Origin": "https://evil.example"})
    assert status == 400 and json.loads(body)["code"] == "origin_not_allowed"
    # web-role allows no WebSocket: nor for the Admin UI's "WebSocket only" option.
    admin = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        admin.connect(
            gateway.url,
            namespaces=["/admin"],
            transports=["websocket"],
            auth={"username": "ops", "password": PASSWORD},
            wait_timeout=5,
        )
    assert "(transport_not_allowed)" in gateway.log()
    # Over what the profile allows, with the credentials, it connects.
    admin = socketio.Client(reconnection=False)
    admin.connect(
        gateway.url,
        namespaces=["/admin"],
        transports=["polling"],
        auth={"username": "ops", "password": PASSWORD},
        wait_timeout=5,
    )
    try:
        assert admin.connected and admin.transport() == "polling"
    finally:
        admin.disconnect()


def test_without_admin_ui_there_is_no_admin_namespace_and_no_page(worker_role):
    assert get(worker_role.url, "/admin/")[0] == 404
    admin = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        admin.connect(
            worker_role.url,
            namespaces=["/admin"],
            transports=["polling"],
            auth={"username": "ops", "password": PASSWORD},
            wait_timeout=5,
        )


def test_on_without_a_password_the_gateway_does_not_start(start_gateway):
    with pytest.raises(RuntimeError, match="admin_ui is on but admin_password is not set"):
        start_gateway(GATEWAY_ADMIN_UI="true", GATEWAY_ADMIN_USERNAME="ops")
