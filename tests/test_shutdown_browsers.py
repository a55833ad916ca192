"""SIGTERM with real Chromium pages connected: the gateway is done well inside graceful_timeout.

Chromium keeps idle keep-alive connections open (the page, its scripts, answered long-polls);
pywsgi waits on each for a next request, and gunicorn's graceful stop waited for them the whole
graceful_timeout. serving/handler.py now closes connections that wait for a next request as soon
as the process drains.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from chat_page import ChatPage, open_context
from conftest import procfile_command

from serving.process import GRACEFUL_TIMEOUT

EXPECTED_TRANSPORT = {"web-role": "polling", "worker-role": "websocket"}


@pytest.mark.parametrize("profile", ["web-role", "worker-role"])
def test_sigterm_with_chromium_pages_connected_is_done_well_before_graceful_timeout(
    start_gateway, browser, profile
):
    # exec: the process the test waits for is gunicorn's master itself, not a shell around it.
    gateway = start_gateway(command=f"exec {procfile_command()}", GATEWAY_PROFILE=profile)
    contexts = [open_context(browser) for _ in range(3)]
    try:
        pages = [ChatPage(context, gateway.url) for context in contexts]
        for page in pages:
            page.wait_status("connected")
            assert page.text("transport") == EXPECTED_TRANSPORT[profile]
            page.say_hello()  # one more request on the page's connections, then they sit idle
        time.sleep(1)

        started = time.monotonic()
        os.killpg(gateway.process.pid, signal.SIGTERM)
        gateway.process.wait(timeout=GRACEFUL_TIMEOUT + 10)
        stopped_in = time.monotonic() - started

        # The bound is gunicorn's graceful_timeout: idle keep-alive connections held the worker
        # until it ran out. Done well before it means nothing waited it out.
        assert stopped_in < GRACEFUL_TIMEOUT / 2, f"stopped in {stopped_in:.1f} s:\n{gateway.log()}"
        assert "Worker graceful timeout" not in gateway.log()
        assert "shutting down: told 3 connected clients to reconnect" in gateway.log()
        for page in pages:
            page.wait_status("reconnecting")
    finally:
        for context in contexts:
            context.close()
