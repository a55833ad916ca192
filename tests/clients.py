"""Real clients the tests drive: python-socketio and the official Node socket.io-client."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import socketio

NODE_HELLO = Path(__file__).with_name("node") / "hello.js"


def python_hello(url: str, transports: list[str], wait_upgrade: float = 0) -> dict:
    """Connect python-socketio's client, do sendMessage -> helloBack, report what happened."""
    client = socketio.Client(reconnection=False)
    replies: list[str] = []
    got = threading.Event()

    @client.on("helloBack")
    def hello_back(data: dict) -> None:
        replies.append(data["message"])
        got.set()

    client.connect(url, transports=transports, wait_timeout=5)
    try:
        first = client.transport()
        client.emit("sendMessage", {"message": "hi"})
        got.wait(5)
        deadline = time.monotonic() + wait_upgrade
        while client.transport() != "websocket" and time.monotonic() < deadline:
            time.sleep(0.05)
        return {"first": first, "transport": client.transport(), "reply": replies[0] if replies else None}
    finally:
        client.disconnect()


def node_hello(url: str, transports: list[str], upgrade: bool = True) -> dict:
    """Run the official socket.io-client in Node against ``url``."""
    done = subprocess.run(
        ["node", str(NODE_HELLO), url, json.dumps(transports), str(upgrade).lower()],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


NODE_POLICY = Path(__file__).with_name("node") / "policy.js"


def node_policy_hello(url: str) -> dict:
    """The official socket.io-client connecting as the page does, with the gateway's /policy."""
    done = subprocess.run(["node", str(NODE_POLICY), url], capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout.strip().splitlines()[-1])


def api_request(
    url: str, method: str, path: str, body: object = None, key: str | None = None
) -> tuple[int, dict]:
    """One call of the gateway's server API (``/api/...``) with its bearer key: (status, JSON body)."""
    request = urllib.request.Request(url + path, method=method)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
