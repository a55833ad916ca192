"""The chat page in real Chromium, seen the way a user sees it: through its stable element ids."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import ROOT
from playwright.sync_api import Browser, BrowserContext, Page, expect

ARTIFACTS = ROOT / "test-artifacts"

#: Runs before any page script: what an old browser without WebSocket looks like.
NO_WEBSOCKET = "delete window.WebSocket; delete window.MozWebSocket;"

#: Notes when #status first says "connected" (in ms since navigation started), and every
#: transport #transport showed, in order.
WATCH_PAGE = """
window.__connectedAt = null;
window.__transports = [];
document.addEventListener("DOMContentLoaded", function () {
  var status = document.getElementById("status");
  var transport = document.getElementById("transport");
  function check() {
    if (window.__connectedAt === null && status.textContent === "connected") {
      window.__connectedAt = performance.now();
    }
    var shown = transport.textContent;
    if (window.__transports[window.__transports.length - 1] !== shown) {
      window.__transports.push(shown);
    }
  }
  var watch = {childList: true, characterData: true, subtree: true};
  new MutationObserver(check).observe(status, watch);
  new MutationObserver(check).observe(transport, watch);
  check();
});
"""


class ChatPage:
    """One browser tab on the gateway, with what it did on the network and in the console."""

    def __init__(self, context: BrowserContext, url: str) -> None:
        self.context = context
        self.url = url
        self.page: Page = context.new_page()
        self.websockets: list[str] = []
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        #: Engine.IO payloads the page sent, over either transport, in order.
        self.sent: list[str] = []
        self.page.on("websocket", self._on_websocket)
        self.page.on("request", self._on_request)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        self.page.on("dialog", self._on_dialog)
        self.page.goto(url)

    def _on_websocket(self, websocket) -> None:  # noqa: ANN001 (playwright WebSocket)
        self.websockets.append(websocket.url)
        websocket.on("framesent", lambda payload: self.sent.append(str(payload)))

    def _on_request(self, request) -> None:  # noqa: ANN001 (playwright Request)
        if request.method == "POST" and "/socket.io/" in request.url:
            self.sent.append(request.post_data or "")

    def sent_events(self, event: str) -> list[list]:
        """The Socket.IO events named ``event`` the page sent: ``[event, data]`` each."""
        found = []
        for payload in self.sent:
            for packet in payload.split("\x1e"):  # polling joins packets with a record separator
                body = packet.lstrip("0123456789")  # Engine.IO "4" + Socket.IO type + ack id
                if packet.startswith("42") and body.startswith(f'["{event}"'):
                    found.append(json.loads(body))
        return found

    def _on_console(self, message) -> None:  # noqa: ANN001 (playwright ConsoleMessage)
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_dialog(self, dialog) -> None:  # noqa: ANN001 (playwright Dialog)
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def text(self, element_id: str) -> str:
        return self.page.locator(f"#{element_id}").inner_text()

    def wait_status(self, state: str, seconds: float = 15) -> None:
        expect(self.page.locator("#status")).to_have_text(state, timeout=seconds * 1000)

    def connected_after_ms(self) -> float:
        """How long after navigation began the page first showed "connected"."""
        self.wait_status("connected")
        return self.page.evaluate("window.__connectedAt")

    def transports_shown(self) -> list[str]:
        """Every value #transport showed since the page loaded, in order."""
        return self.page.evaluate("window.__transports")

    def say_hello(self) -> tuple[str, str]:
        """Click "Say hello"; returns the reply and the round trip as shown."""
        self.page.click("#hello")
        expect(self.page.locator("#reply")).not_to_have_text("", timeout=10_000)
        expect(self.page.locator("#rtt")).to_have_text(_MS, timeout=10_000)
        return self.text("reply"), self.text("rtt")

    def join(self, name: str, room: str) -> None:
        self.page.fill("#name", name)
        self.page.fill("#room", room)
        self.page.click("#join")
        expect(self.page.locator("#members")).to_contain_text(name, timeout=10_000)

    def send(self, text: str) -> None:
        self.page.fill("#text", text)
        self.page.click("#send")

    def messages(self) -> list[dict]:
        """Stored messages as shown, in order: data-id, name and text (as text, never HTML)."""
        return self.page.eval_on_selector_all(
            "#messages li[data-id]",
            """items => items.map(li => ({
                id: Number(li.getAttribute("data-id")),
                name: li.querySelector(".name").textContent,
                text: li.querySelector(".text").textContent,
            }))""",
        )

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages()]

    def wait_texts(self, texts: list[str], seconds: float = 15) -> None:
        """Wait until the stored messages shown are exactly ``texts``, in order."""
        locator = self.page.locator("#messages li[data-id] .text")
        expect(locator).to_have_text(texts, timeout=seconds * 1000)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


_MS = re.compile(r"^\d+ ms$")


def open_context(browser: Browser, websocket: bool = True, **options) -> BrowserContext:  # noqa: ANN003
    """A fresh context (its own storage); ``websocket=False`` deletes window.WebSocket first."""
    context = browser.new_context(**options)
    context.add_init_script(WATCH_PAGE)
    if not websocket:
        context.add_init_script(NO_WEBSOCKET)
    return context
