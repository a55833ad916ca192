"""Who sent a request: the proxies in front are trusted for as many hops as the profile says.

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


def behind_proxies(app: WSGIApp, hops: int) -> WSGIApp:
    """``app`` reading the client's address and scheme from ``hops`` trusted proxies (0: none)."""
    return ProxyFix(app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


def client_address(environ: dict) -> str:
    """The address a user would recognise: the client's, as far as the trusted proxies tell it."""
    return environ.get("REMOTE_ADDR") or "?"
