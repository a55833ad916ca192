"""Which Host headers the gateway answers, and which origins are its own.

Both read only what ``werkzeug``'s ProxyFix left in the environ (``ops/address.py`` puts it
outermost): ``HTTP_HOST`` as the proxies in front passed it (``X-Forwarded-Host`` is never
trusted) and ``wsgi.url_scheme`` from as many ``X-Forwarded-Proto`` hops as ``proxy_hops`` says.
"""

from __future__ import annotations

import functools

from config.settings import split_host

DEFAULT_PORTS = {"http": "80", "https": "443"}


@functools.lru_cache(maxsize=1024)
def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """``host`` (a Host header) matches one of ``allowed`` (``allowed_hosts``); empty allows any.

    A pattern without a port matches any port; ``*.example.com`` matches every name under
    example.com (not example.com itself). Asked on every request with the same few hosts: the
    answers are kept (a bounded cache, so a client sending endless names only evicts them).
    """
    if not allowed or "*" in allowed:
        return True
    name, port = split_host(host.strip().lower())
    name = name.rstrip(".")
    for pattern in allowed:
        wanted, wanted_port = split_host(pattern)
        if wanted_port and wanted_port != port:
            continue
        if wanted.startswith("*."):
            if name.endswith(wanted[1:]) and len(name) > len(wanted) - 1:
                return True
        elif name == wanted:
            return True
    return False


def own_origins(environ: dict) -> set[str]:
    """The origins a page served by this gateway has: its scheme and Host, as ProxyFix left them."""
    host = environ.get("HTTP_HOST", "").strip().lower()
    if not host:
        return set()
    scheme = environ.get("wsgi.url_scheme", "http")
    origins = {f"{scheme}://{host}"}
    name, port = split_host(host)
    if port == DEFAULT_PORTS.get(scheme):
        origins.add(f"{scheme}://{name}")  # a browser's Origin never names the scheme's default port
    return origins
