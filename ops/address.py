"""Who sent a request, as the trusted proxies in front tell it, and counts of connections per address.

werkzeug's ProxyFix (outermost in ``app.py``) takes the client's address from the last
``proxy_hops`` values of ``X-Forwarded-For`` and the scheme from ``X-Forwarded-Proto``, and
writes them into ``REMOTE_ADDR`` and ``wsgi.url_scheme``; everything after it reads only those.
A value a client wrote itself, left of the trusted hops (or any, with ``proxy_hops = 0``), is
ignored. ``X-Forwarded-Host`` and ``X-Forwarded-Port`` are never trusted: the hosts we deploy
behind pass the browser's own ``Host`` on (nginx as ``$http_host``), and set neither header, so
whatever arrives in them came from the client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

#: Where the serving handler hands the gate its connection's ``ConnectionSlot``.
CONNECTION_SLOT = "rolegate.connection"


def behind_proxies(app: WSGIApp, hops: int) -> WSGIApp:
    """``app`` reading the client's address and scheme from ``hops`` trusted proxies (0: none).

    A request without forwarded headers (every one a client sends straight to the gateway) skips
    werkzeug's ProxyFix, which would change nothing in it (about 1% of polling time)."""
    if hops == 0:
        return app
    # A bound method: no C frame of its own under a parked WebSocket (serving/shallow.py).
    fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0).__call__

    def maybe_forwarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if "HTTP_X_FORWARDED_FOR" in environ or "HTTP_X_FORWARDED_PROTO" in environ:
            return fixed(environ, start_response)
        return app(environ, start_response)

    return maybe_forwarded


def client_address(environ: dict) -> str:
    """The address a user would recognise: the client's, as far as the trusted proxies tell it."""
    return environ.get("REMOTE_ADDR") or "?"


class AddressCounts:
    """How many of something (connections, sessions) each address holds open; one per process."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, address: str) -> int:
        """Count one more for ``address``; returns its count, this one included."""
        count = self._counts.get(address, 0) + 1
        self._counts[address] = count
        return count

    def remove(self, address: str) -> None:
        count = self._counts.get(address, 0) - 1
        if count > 0:
            self._counts[address] = count
        else:
            self._counts.pop(address, None)

    def __getitem__(self, address: str) -> int:
        return self._counts.get(address, 0)

    def __len__(self) -> int:
        """How many addresses hold at least one."""
        return len(self._counts)


#: Open connections by client address in this process.
CONNECTIONS = AddressCounts()


class ConnectionSlot:
    """One client connection's place in ``CONNECTIONS``.

    The serving handler makes one per connection and releases it when the connection ends; the
    gate claims it on the connection's first request, once ProxyFix has said whose it is, so the
    per-address connection cap counts the same address as everything else.
    """

    __slots__ = ("address", "rank")

    def __init__(self) -> None:
        self.address: str | None = None
        self.rank = 0  # this connection's count for its address when claimed, itself included

    def claim(self, environ: dict) -> int:
        if self.address is None:
            self.address = client_address(environ)
            self.rank = CONNECTIONS.add(self.address)
        return self.rank

    def release(self) -> None:
        if self.address is not None:
            CONNECTIONS.remove(self.address)
            self.address = None
