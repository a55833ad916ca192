"""Take the README's screenshots of the page: ``.venv/bin/python scripts/readme_screenshots.py``.

docs/page.png is worker-role, docs/page-web-role.png is web-role: each a gateway started from the
Procfile (as the tests do), two people chatting, the hello round trip, in Debian's Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chat_page import ChatPage, open_context  # noqa: E402
from conftest import CHROMIUM_ARGS, Gateway, procfile_command  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

SHOTS = {"worker-role": ROOT / "docs" / "page.png", "web-role": ROOT / "docs" / "page-web-role.png"}


def shoot(browser, profile: str, path: Path) -> None:  # noqa: ANN001 (playwright Browser)
    with tempfile.TemporaryDirectory() as tmp:
        gateway = Gateway(procfile_command(), {"GATEWAY_PROFILE": profile}, Path(tmp))
        try:
            contexts = [open_context(browser, viewport={"width": 1280, "height": 720}) for _ in range(2)]
            ann, bob = (ChatPage(context, gateway.url) for context in contexts)
            ann.join("ann", "lobby")
            bob.join("bob", "lobby")
            expect(ann.page.locator("#members")).to_have_text("In the room: ann, bob")
            bob.send("Hi Ann, are you on the new gateway?")
            ann.wait_texts(["Hi Ann, are you on the new gateway?"])
            ann.send(f"Yes: {profile}, and it says over what.")
            ann.wait_texts(["Hi Ann, are you on the new gateway?", f"Yes: {profile}, and it says over what."])
            ann.say_hello()
            ann.page.locator("#text").focus()
            ann.page.screenshot(path=str(path))
            for context in contexts:
                context.close()
        finally:
            gateway.stop()


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        for profile, path in SHOTS.items():
            shoot(browser, profile, path)
            print(f"wrote {path.relative_to(ROOT)}")
        browser.close()


if __name__ == "__main__":
    main()
