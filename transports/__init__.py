"""What each transport name means, on the server and in the browser client.

Modelled on Engine.IO's ``transports/index``: one small registry maps every
name a user may write in a profile to the transport that implements it.
The names themselves (with socket.io 0.9's aliases and the retired names) are
profile vocabulary, in ``config/transport_names.py``; this is what each one means.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from config.transport_names import NAMES, canonical_name


@dataclass(frozen=True)
class Transport:
    """One Engine.IO v4 transport."""

    name: str  # the name in Engine.IO's query string and in socket.io-client
    needs_upgrade_header: bool  # the HTTP request carries `Upgrade: websocket`
    description: str


POLLING = Transport("polling", False, "HTTP long-polling: works through any HTTP/1.1 path")
WEBSOCKET = Transport("websocket", True, "WebSocket: needs a path that passes Upgrade")

TRANSPORTS: dict[str, Transport] = {t.name: t for t in (POLLING, WEBSOCKET)}

assert tuple(sorted(TRANSPORTS)) == tuple(sorted(NAMES)), (
    "a profile's transport names and their meanings differ"
)


def resolve(name: str) -> Transport:
    """The transport a (possibly socket.io 0.9) name stands for; ValueError names the valid ones."""
    return TRANSPORTS[canonical_name(name)]


@dataclass(frozen=True)
class EngineRequest:
    """What an Engine.IO HTTP request asks for, read once per request."""

    transport: Transport
    sid: str | None  # set when the session already exists
    upgrade_header: bool = False  # the request carries `Upgrade: websocket`
    jsonp: bool = False  # JSONP polling: a `j` query argument (python-engineio answers it as a script)

    @property
    def is_upgrade(self) -> bool:
        """A WebSocket request for a session that began on polling."""
        return self.transport is WEBSOCKET and self.sid is not None

    def describe(self) -> str:
        return f"{self.transport.name} {'upgrade' if self.is_upgrade else 'request'}"


def classify(environ: dict) -> EngineRequest:
    """Read which transport an Engine.IO HTTP request really asks for.

    A request asks for WebSocket when *either* its Upgrade header or its
    ``transport`` query argument says so: python-engineio reads only the
    header to upgrade and only the query to check, so both must be looked at.
    """
    query = first_values(environ.get("QUERY_STRING", ""))
    upgrade_header = environ.get("HTTP_UPGRADE", "").strip().lower() == "websocket"
    wants_websocket = upgrade_header or query.get("transport", "").lower() == "websocket"
    return EngineRequest(
        WEBSOCKET if wants_websocket else POLLING,
        query.get("sid") or None,
        upgrade_header,
        jsonp="j" in query,
    )


def first_values(query: str) -> dict[str, str]:
    """Each name's first value, as ``parse_qs(query, keep_blank_values=True)`` reads it.

    python-engineio reads the query with parse_qs, so the gate must read the same names (an
    escaped ``%74ransport`` is ``transport``); this does in 1 us what parse_qs does in 4, by
    unescaping only what has an escape.
    """
    found: dict[str, str] = {}
    for field in query.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        found.setdefault(name, value)
    return found


def websocket_handshake_ok(environ: dict) -> bool:
    """The RFC 6455 headers a WebSocket driver needs to answer the handshake are there."""
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
    return environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() == "13" and len(key) == 24
