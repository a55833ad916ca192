"""A plain HTTP/1.1 forwarder on loopback that refuses WebSocket upgrades, like many corporate proxies.

Every connection's first request is inspected: one asking for ``Upgrade`` gets
``400 Bad Request``; anything else is forwarded byte for byte to the gateway
(browsers open each WebSocket on a connection of its own).
"""

from __future__ import annotations

import contextlib
import socket
import threading

REFUSAL = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD = 64 * 1024


class UpgradeBlockingProxy:
    """``with UpgradeBlockingProxy(gateway.port) as proxy:`` then browse ``proxy.url``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.refused_upgrades = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> UpgradeBlockingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed by __exit__
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
            chunk = client.recv(65536)
            if not chunk:
                client.close()
                return
            head += chunk
        if b"\nupgrade:" in head.lower():
            self.refused_upgrades += 1
            client.sendall(REFUSAL)
            client.close()
            return
        with client, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            upstream.sendall(head)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until ``source`` ends, then end ``sink`` the same way."""
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        # One side reset: end both directions so the other pump returns too.
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
