"""Raw Engine.IO requests, for what no well-behaved client would send."""

from __future__ import annotations

import base64
import http.client
import json
import os
from urllib.parse import urlsplit

import websocket


def handshake(url: str, query: str = "EIO=4&transport=polling") -> dict:
    """Open a polling session and return the server's open packet."""
    status, body = get(url, f"/socket.io/?{query}")
    assert status == 200, body
    assert body.startswith("0"), body
    return json.loads(body[1:])


def get(
    url: str, path: str, headers: dict[str, str] | None = None, limit: int | None = 4096
) -> tuple[int, str]:
    """Status and body (its first ``limit`` bytes; None: all of it) of one GET."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read(limit) if response.status != 101 else b""
        return response.status, body.decode(errors="replace")
    finally:
        conn.close()


def websocket_attempt(url: str, query: str, version: str = "13") -> tuple[int, str]:
    """A WebSocket handshake by hand, with whatever query (and protocol version) the caller wants."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": version,
    }
    return get(url, f"/socket.io/?{query}", headers)


def raw_websocket(url: str, sockopt: tuple = ()) -> websocket.WebSocket:
    """A WebSocket with the Socket.IO namespace connected, speaking raw packets."""
    parts = urlsplit(url)
    ws = websocket.create_connection(
        f"ws://{parts.hostname}:{parts.port}/socket.io/?EIO=4&transport=websocket",
        timeout=10,
        sockopt=sockopt,
    )
    assert ws.recv().startswith("0")
    ws.send("40")
    assert ws.recv().startswith("40")
    return ws


def next_event(ws: websocket.WebSocket, name: str) -> list:
    """Read frames until the Socket.IO event ``name`` arrives (Engine.IO pings are answered)."""
    while True:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        elif frame.startswith("42"):
            event = json.loads(frame[2:])
            if event[0] == name:
                return event


def close_code(ws: websocket.WebSocket) -> int:
    """The code of the close frame the server sends next."""
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    return int.from_bytes(data[:2], "big")
