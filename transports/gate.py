"""Strict enforcement of the profile, in front of Engine.IO.

python-engineio only *advertises* a transport policy: with
``transports=['polling']`` and ``allow_upgrades=False`` it still upgraded a
live polling session when a WebSocket handshake carried ``transport=polling``
and the sid (it reads the Upgrade header to upgrade, the query to check).
So every Engine.IO request passes through here first, and anything the
profile does not allow gets HTTP 400 naming the profile and one log line.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable

from config.profile import Profile
from ops import metrics, shutdown
from transports import WEBSOCKET, EngineRequest, classify, websocket_handshake_ok
from transports.guard import polling_payload_problem

log = logging.getLogger("rolegate.transports")

#: Every real WebSocket client sends `Upgrade`; a proxy that drops it is why sessions stay on polling.
NO_UPGRADE_HEADER = (
    "the websocket request arrived without its Upgrade header: a proxy in front does not pass WebSocket "
    "(nginx needs proxy_http_version 1.1 and the Upgrade/Connection headers, see "
    "deploy/nginx/websocket.conf; IIS before 8.0 has none); clients fall back to polling, "
    "or set GATEWAY_PROFILE=web-role"
)

BAD_HANDSHAKE = "a WebSocket handshake needs Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key (RFC 6455)"

SHUTTING_DOWN = "this instance is shutting down; reconnect (to another instance, if any)"

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def client_address(environ: dict) -> str:
    """The address a user would recognise: the first X-Forwarded-For hop, if any."""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
    return forwarded or environ.get("REMOTE_ADDR", "?")


def own_origins(environ: dict) -> set[str]:
    """The origins a page served by this gateway has, as the request shows them."""
    scheme = environ.get("wsgi.url_scheme", "http")
    origins = set()
    if "HTTP_HOST" in environ:
        origins.add(f"{scheme}://{environ['HTTP_HOST']}")
    forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST"))
    forwarded_proto = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
    if forwarded_host:
        origins.add(f"{forwarded_proto}://{forwarded_host.split(',')[0].strip()}")
    return origins


class TransportGate:
    """WSGI middleware: refuse what the profile forbids before Engine.IO runs."""

    def __init__(self, app: WSGIApp, profile: Profile, path: str) -> None:
        self.app = app
        self.profile = profile
        self.prefix = f"/{path.strip('/')}/"

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(self.prefix):
            request = classify(environ)
            refusal = self.refusal(environ, request)
            if refusal:
                reason, text = refusal
                metrics.REFUSED.labels(request.transport.name, reason).inc()
                log.warning("refused %s from %s: %s", request.describe(), client_address(environ), text)
                return self.refuse("400 BAD REQUEST", text, start_response)
            if request.sid is None and shutdown.DRAINING.is_set():
                metrics.REFUSED.labels(request.transport.name, "shutting_down").inc()
                return self.refuse("503 SERVICE UNAVAILABLE", SHUTTING_DOWN, start_response)
            too_long = self.oversized(environ)
            if too_long:
                metrics.REFUSED.labels(request.transport.name, "too_large").inc()
                log.warning("refused a %s from %s", too_long, client_address(environ))
                return self.refuse("413 REQUEST ENTITY TOO LARGE", too_long, start_response)
            if environ.get("REQUEST_METHOD") == "POST":
                malformed = self.check_payload(environ)
                if malformed:
                    metrics.REFUSED.labels(request.transport.name, "malformed").inc()
                    log.warning("refused a polling payload from %s: %s", client_address(environ), malformed)
                    return self.refuse(
                        "400 BAD REQUEST", f"malformed Engine.IO payload: {malformed}", start_response
                    )
            if request.is_upgrade:
                metrics.UPGRADES.inc()
                log.info("session %s upgrading from polling to websocket", request.sid)
            if request.transport is WEBSOCKET and not self.profile.websocket_compression:
                # Unoffered, permessage-deflate is never negotiated (simple-websocket accepts any offer).
                environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)

    def refuse(self, status: str, reason: str, start_response: Callable) -> list[bytes]:
        """Answer at once, without reading the body, and close the connection."""
        body = f"Refused by gateway profile '{self.profile.name}': {reason}\n".encode()
        start_response(
            status,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]

    @staticmethod
    def check_payload(environ: dict) -> str | None:
        """Read a polling POST once, check it decodes, and hand the same bytes on to Engine.IO."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        return polling_payload_problem(body)

    def oversized(self, environ: dict) -> str | None:
        """A polling POST larger than the profile allows, refused before it is read."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "request with an invalid Content-Length"
        limit = self.profile.max_message_bytes
        if length > limit:
            return f"{length}-byte request; max_message_bytes is {limit}"
        return None

    def refusal(self, environ: dict, request: EngineRequest) -> tuple[str, str] | None:
        """Why this Engine.IO request is refused (a metric label and words), or None to let it through."""
        origin = environ.get("HTTP_ORIGIN")
        allowed = self.profile.allowed_origins
        if origin and "*" not in allowed and origin not in allowed and origin not in own_origins(environ):
            return "origin", (
                f"origin {origin} is not accepted (allowed: this gateway's own origin"
                + (f", {', '.join(allowed)}" if allowed else "")
                + "; add it to GATEWAY_ALLOWED_ORIGINS)"
            )
        transport = request.transport.name
        if not self.profile.allows(transport):
            allowed_list = ", ".join(self.profile.transports)
            refusal = f"{transport} is not allowed (transports: {allowed_list})"
            if request.transport is WEBSOCKET:  # tells the transport doctor what the path passes
                passed = request.upgrade_header
                refusal += "; the path passed the Upgrade header" if passed else "; no Upgrade header arrived"
            return "transport", refusal
        if request.is_upgrade and not self.profile.offers_upgrade:
            return "upgrade", "the profile offers no upgrade from polling to websocket"
        if request.transport is WEBSOCKET and not request.upgrade_header:
            return "no_upgrade_header", NO_UPGRADE_HEADER
        if request.transport is WEBSOCKET and not websocket_handshake_ok(environ):
            # Refused here, before python-engineio opens a session the driver would then refuse:
            # that session lingered until its ping timeout.
            return "bad_handshake", BAD_HANDSHAKE
        return None
