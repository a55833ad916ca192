"""Hostile floods on the wire, and what another client sees meanwhile (tests/test_fairness.py, bench)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import websocket

#: Masked client frames with a zero mask key (the payload is then sent as is).
_MASK = b"\x00\x00\x00\x00"


def client_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """One masked client frame (payloads under 126 bytes)."""
    assert len(payload) < 126
    return bytes((0x80 * fin | opcode, 0x80 | len(payload))) + _MASK + payload


#: Each flood: the bytes sent once after the namespace connect, and the chunk sent over and over.
FLOODS: dict[str, tuple[bytes, bytes]] = {
    "noop": (b"", client_frame(b"6") * 2000),
    "unknown_event": (b"", client_frame(b'42["zz",1]') * 1000),
    # A text message that never ends: empty continuation frames, each charged 8 bytes.
    "empty_continuation": (client_frame(b"4", fin=False), client_frame(b"", opcode=0x0, fin=False) * 2000),
}


class WebSocketFlood:
    """A raw WebSocket that keeps the server's socket buffer full of one kind of frame."""

    def __init__(self, url: str, kind: str) -> None:
        parts = urlsplit(url)
        self.ws = websocket.create_connection(
            f"ws://{parts.hostname}:{parts.port}/socket.io/?EIO=4&transport=websocket", timeout=10
        )
        assert self.ws.recv().startswith("0")
        self.ws.send("40")
        assert self.ws.recv().startswith("40")
        self.prelude, self.chunk = FLOODS[kind]
        self.sent = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> WebSocketFlood:
        self._thread.start()
        return self

    def _run(self) -> None:
        sock = self.ws.sock
        sock.settimeout(1)
        try:
            sock.sendall(self.prelude)
            while not self._stop.is_set():
                try:
                    sock.sendall(self.chunk)
                except TimeoutError:
                    continue
                self.sent += len(self.chunk)
        except OSError as error:  # the server closed it
            self.error = repr(error)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def close_frame(self, seconds: float = 10) -> tuple[int, str] | None:
        """The server's close frame (code, reason), skipping what came before it; None if the socket ended."""
        self.ws.sock.settimeout(seconds)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                return None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big"), data[2:].decode(errors="replace")
        return None

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            self.ws.sock.close()


class PipelinedPolling:
    """One keep-alive connection that writes polling POSTs back to back without reading the answers."""

    def __init__(self, url: str, body: bytes = b'42["zz",1]', requests: int | None = None) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        status, text = http_request(url, "GET", "/socket.io/?EIO=4&transport=polling")
        assert status == 200, text
        self.sid = json.loads(text[1:])["sid"]
        path = f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"
        assert http_request(url, "POST", path, b"40")[0] == 200
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.chunk = request * 50
        #: Stop writing after this many requests (rounded up to 50); None: until closed.
        self.requests = requests
        self.sent = 0
        #: Set when the server ended the connection (or it was closed).
        self.ended = threading.Event()
        self.received = b""
        self.error: str | None = None
        self._stop = threading.Event()
        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self._threads = [
            threading.Thread(target=self._write, daemon=True),
            threading.Thread(target=self._read, daemon=True),
        ]

    def start(self) -> PipelinedPolling:
        for thread in self._threads:
            thread.start()
        return self

    def _write(self) -> None:
        self.sock.settimeout(1)
        try:
            while not self._stop.is_set():
                try:
                    self.sock.sendall(self.chunk)
                except TimeoutError:
                    continue
                self.sent += 50
                if self.requests is not None and self.sent >= self.requests:
                    return
        except OSError as error:
            self.error = repr(error)

    def _read(self) -> None:
        """Keep (the start of) what the server answers; reading keeps its send buffer from filling."""
        try:
            self._read_until_the_end()
        finally:
            self.ended.set()

    def _read_until_the_end(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            if len(self.received) < 1_000_000:
                self.received += data

    def statuses(self) -> list[int]:
        return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", self.received)]

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for thread in self._threads:
            thread.join(5)


def http_request(url: str, method: str, path: str, body: bytes = b"") -> tuple[int, str]:
    import http.client

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def ack_times(call: Callable[[], object], seconds: float, pause: float = 0.05) -> list[float]:
    """Seconds each ``call()`` took, calling it again and again for ``seconds``."""
    times = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        call()
        times.append(time.monotonic() - started)
        time.sleep(pause)
    return times


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "max_ms": round(1000 * ordered[-1], 2),
        "samples": len(ordered),
    }
