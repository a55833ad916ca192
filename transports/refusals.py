"""Every refusal the gateway answers over HTTP: a stable code, its status, and what it means.

Modelled on Engine.IO's ``Server.errors``/``errorMessages``: one table, and one
function that writes the answer. The body is JSON ``{"code", "message", "profile"}``;
the code is what clients, the doctor (``rolegate doctor``) and the metrics use, the
message is for a person. The README's table of codes is checked against ``CODES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

TRANSPORT_NOT_ALLOWED = "transport_not_allowed"
UPGRADE_NOT_OFFERED = "upgrade_not_offered"
NO_UPGRADE_HEADER = "no_upgrade_header"
ORIGIN_NOT_ALLOWED = "origin_not_allowed"
BAD_HANDSHAKE = "bad_handshake"
TOO_LARGE = "too_large"
MALFORMED_PAYLOAD = "malformed_payload"
SHUTTING_DOWN = "shutting_down"
HOST_NOT_ALLOWED = "host_not_allowed"
JSONP_NOT_ALLOWED = "jsonp_not_allowed"
TOO_MANY_CONNECTIONS = "too_many_connections"
TOO_MANY_SESSIONS = "too_many_sessions"
SERVER_FULL = "server_full"
FLOOD = "flood"

#: code -> (HTTP status, when it is sent). The README's refusal table is generated from this.
CODES: dict[str, tuple[str, str]] = {
    HOST_NOT_ALLOWED: (
        "400 BAD REQUEST",
        "the request's `Host` is not in `allowed_hosts` (on every path, not only `/socket.io/`)",
    ),
    ORIGIN_NOT_ALLOWED: (
        "400 BAD REQUEST",
        "the page's `Origin` is neither the gateway's own nor in `allowed_origins`",
    ),
    JSONP_NOT_ALLOWED: (
        "400 BAD REQUEST",
        "JSONP polling (`j=` in the query) while `allow_jsonp` is off",
    ),
    TRANSPORT_NOT_ALLOWED: (
        "400 BAD REQUEST",
        "the transport asked for is not in the profile's `transports`",
    ),
    UPGRADE_NOT_OFFERED: (
        "400 BAD REQUEST",
        "an upgrade from polling to WebSocket on a profile that offers none",
    ),
    NO_UPGRADE_HEADER: (
        "400 BAD REQUEST",
        "a WebSocket request arrived without its `Upgrade` header: a proxy in front does not pass WebSocket",
    ),
    BAD_HANDSHAKE: (
        "400 BAD REQUEST",
        "a WebSocket handshake without `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`",
    ),
    TOO_LARGE: ("413 REQUEST ENTITY TOO LARGE", "a polling POST over `max_message_bytes`"),
    MALFORMED_PAYLOAD: ("400 BAD REQUEST", "a polling POST that is not a valid Engine.IO payload"),
    SHUTTING_DOWN: ("503 SERVICE UNAVAILABLE", "a new session while this process drains for a restart"),
    TOO_MANY_CONNECTIONS: (
        "429 TOO MANY REQUESTS",
        "a request on a connection past `max_connections_per_address` open from the client's address",
    ),
    TOO_MANY_SESSIONS: (
        "429 TOO MANY REQUESTS",
        "a new session past `max_sessions_per_address` open from the client's address",
    ),
    SERVER_FULL: ("503 SERVICE UNAVAILABLE", "a new session past `max_sessions` open in this process"),
    FLOOD: (
        "429 TOO MANY REQUESTS",
        "a polling POST over the session's inbound budget (`inbound_packets_per_second`, "
        "`inbound_bytes_per_second`); a WebSocket over it is closed with 1008 `flood: ...`",
    ),
}


@dataclass(frozen=True)
class Refusal:
    """Why one request is refused: a code from ``CODES`` and words for a person."""

    code: str
    message: str
    #: For a refused WebSocket request: whether its Upgrade header came through the path (the doctor
    #: reads it to tell whether the proxies in front pass WebSocket).
    upgrade_header: bool | None = None

    def __post_init__(self) -> None:
        assert self.code in CODES, f"unlisted refusal code {self.code!r}"

    @property
    def status(self) -> str:
        return CODES[self.code][0]

    def body(self, profile: str) -> bytes:
        fields = {"code": self.code, "message": self.message, "profile": profile}
        if self.upgrade_header is not None:
            fields["upgrade_header"] = self.upgrade_header
        return json.dumps(fields).encode()

    def answer(self, profile: str, start_response: Callable) -> list[bytes]:
        """Answer at once, without reading the request body, and close the connection."""
        body = self.body(profile)
        start_response(
            self.status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("X-Content-Type-Options", "nosniff"),
                ("Connection", "close"),
            ],
        )
        return [body]
