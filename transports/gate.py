"""Strict enforcement of the profile, in front of Engine.IO: one gate, coded refusals.

python-engineio only *advertises* a transport policy: with
``transports=['polling']`` and ``allow_upgrades=False`` it still upgraded a
live polling session when a WebSocket handshake carried ``transport=polling``
and the sid (it reads the Upgrade header to upgrade, the query to check).
So every Engine.IO request passes through here first. ``refusal()`` decides,
from the request's headers alone, with no I/O; ``TransportGate`` answers what it
refuses with a code from ``transports/refusals.py``, one log line and a metric.
The gate also refuses, on every path, a Host header outside ``allowed_hosts``.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable

from config.profile import Profile
from ops import metrics, shutdown
from ops.address import CONNECTION_SLOT, ConnectionSlot, client_address
from ops.fairness import InboundBudget, budget_factory
from seam.packets import PACKET_SEPARATOR, polling_payload_problem
from transports import WEBSOCKET, EngineRequest, classify, websocket_handshake_ok
from transports.caps import SessionCaps
from transports.hosts import host_allowed, own_origins
from transports.refusals import (
    BAD_HANDSHAKE,
    FLOOD,
    HOST_NOT_ALLOWED,
    JSONP_NOT_ALLOWED,
    MALFORMED_PAYLOAD,
    NO_UPGRADE_HEADER,
    ORIGIN_NOT_ALLOWED,
    SHUTTING_DOWN,
    TOO_LARGE,
    TOO_MANY_CONNECTIONS,
    TRANSPORT_NOT_ALLOWED,
    UPGRADE_NOT_OFFERED,
    Refusal,
)

log = logging.getLogger("rolegate.transports")

#: Every real WebSocket client sends `Upgrade`; a proxy that drops it is why sessions stay on polling.
NO_UPGRADE_HEADER_TEXT = (
    "the websocket request arrived without its Upgrade header: a proxy in front does not pass WebSocket "
    "(nginx needs proxy_http_version 1.1 and the Upgrade/Connection headers, see "
    "deploy/nginx/websocket.conf; IIS before 8.0 has none); clients fall back to polling, "
    "or set GATEWAY_PROFILE=web-role"
)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def connection_refusal(slot: ConnectionSlot, environ: dict, profile: Profile) -> Refusal | None:
    """A request on a connection past ``max_connections_per_address`` (serving/handler.py's slot)."""
    cap = profile.max_connections_per_address
    rank = slot.claim(environ)
    if cap and rank > cap:
        return Refusal(
            TOO_MANY_CONNECTIONS,
            f"{slot.address} has {rank} connections open (max_connections_per_address is {cap}); "
            "close some first",
        )
    return None


def refusal(
    environ: dict, request: EngineRequest, profile: Profile, sessions: SessionCaps | None = None
) -> Refusal | None:
    """Why the profile refuses this Engine.IO request, from its headers alone; None lets it through.

    ``sessions``, when given, refuses a new session past the session caps.
    """
    origin = environ.get("HTTP_ORIGIN")
    allowed = profile.allowed_origins
    if origin and "*" not in allowed and origin not in allowed and origin not in own_origins(environ):
        return Refusal(
            ORIGIN_NOT_ALLOWED,
            f"origin {origin} is not accepted (allowed: this gateway's own origin"
            + (f", {', '.join(allowed)}" if allowed else "")
            + "; add it to GATEWAY_ALLOWED_ORIGINS)",
        )
    if request.jsonp and not profile.allow_jsonp:
        # A <script> tag sends no Origin, so the origin check above never sees a JSONP request.
        return Refusal(
            JSONP_NOT_ALLOWED,
            "JSONP polling is off: a <script> tag sends no Origin, so any site could open a session "
            "(socket.io-client 4 never uses it; GATEWAY_ALLOW_JSONP=true turns it on)",
        )
    transport = request.transport.name
    if not profile.allows(transport):
        text = f"{transport} is not allowed (transports: {', '.join(profile.transports)})"
        # For a WebSocket, tells the transport doctor whether the path passes Upgrade.
        arrived = request.upgrade_header if request.transport is WEBSOCKET else None
        return Refusal(TRANSPORT_NOT_ALLOWED, text, arrived)
    if request.is_upgrade and not profile.offers_upgrade:
        return Refusal(UPGRADE_NOT_OFFERED, "the profile offers no upgrade from polling to websocket")
    if request.transport is WEBSOCKET and not request.upgrade_header:
        return Refusal(NO_UPGRADE_HEADER, NO_UPGRADE_HEADER_TEXT)
    if request.transport is WEBSOCKET and not websocket_handshake_ok(environ):
        # Refused here, before python-engineio opens a session the driver would then refuse:
        # that session lingered until its ping timeout.
        return Refusal(
            BAD_HANDSHAKE,
            "a WebSocket handshake needs Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key (RFC 6455)",
        )
    if request.sid is None and shutdown.DRAINING.is_set():
        return Refusal(
            SHUTTING_DOWN, "this instance is shutting down; reconnect (to another instance, if any)"
        )
    if request.sid is None and sessions is not None:
        capped = sessions.refusal(client_address(environ))
        if capped is not None:
            return capped
    return oversized(environ, profile.max_message_bytes)


def host_refusal(environ: dict, profile: Profile) -> Refusal | None:
    """A Host header outside ``allowed_hosts`` (DNS rebinding), refused on every path."""
    host = environ.get("HTTP_HOST", "")
    if host_allowed(host, profile.allowed_hosts):
        return None
    return Refusal(
        HOST_NOT_ALLOWED,
        f"host {host[:100] or '(none)'} is not served here (allowed: {', '.join(profile.allowed_hosts)}; "
        "add it to GATEWAY_ALLOWED_HOSTS)",
    )


def oversized(environ: dict, limit: int) -> Refusal | None:
    """A polling POST larger than the profile allows, refused before it is read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return Refusal(MALFORMED_PAYLOAD, "request with an invalid Content-Length")
    if length > limit:
        return Refusal(TOO_LARGE, f"{length}-byte request; max_message_bytes is {limit}")
    return None


def checked_payload(environ: dict, limit: int) -> tuple[bytes, Refusal | None]:
    """Read a polling POST once, check it decodes, and hand the same bytes on to Engine.IO.

    Returns the body too, for the inbound budget: read again from the stream, it was a copy of
    every POST. A chunked body has no Content-Length to refuse it by: at most ``limit`` + 1 bytes
    of it are read, and more is refused; what is passed on carries the Content-Length Engine.IO
    reads by.
    """
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            refused = Refusal(TOO_LARGE, f"chunked request over {limit} bytes; max_message_bytes is {limit}")
            return body, refused
        environ["CONTENT_LENGTH"] = str(len(body))
    else:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    problem = polling_payload_problem(body)
    return body, Refusal(MALFORMED_PAYLOAD, f"malformed Engine.IO payload: {problem}") if problem else None


class PollingBudgets:
    """Each polling session's inbound budget (ops/budget.py), charged per POST.

    A budget whose buckets are full again is as good as a new one, so every ``SWEEP_S`` seconds
    those are forgotten: the table holds only sessions that sent much lately.
    """

    SWEEP_S = 30.0

    def __init__(self, new_budget: Callable[[], InboundBudget]) -> None:
        self.new_budget = new_budget
        self.budgets: dict[str, InboundBudget] = {}
        self._next_sweep = time.monotonic() + self.SWEEP_S

    def charge(self, sid: str, body: bytes) -> Refusal | None:
        """Charge one POST's packets and bytes to its session; a Refusal once it is over budget."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_S
            self.budgets = {key: budget for key, budget in self.budgets.items() if not budget.full()}
        budget = self.budgets.get(sid)
        if budget is None:
            budget = self.budgets[sid] = self.new_budget()
        packets = body.count(PACKET_SEPARATOR_BYTES) + 1 if body else 0
        if budget.take(packets, len(body)):
            return None
        return Refusal(FLOOD, f"{budget.reason()}; slow down and retry")


PACKET_SEPARATOR_BYTES = PACKET_SEPARATOR.encode()


class TransportGate:
    """WSGI middleware: refuse what the profile forbids before Engine.IO runs."""

    def __init__(
        self, app: WSGIApp, profile: Profile, path: str, sessions: SessionCaps | None = None
    ) -> None:
        self.app = app
        self.profile = profile
        self.prefix = f"/{path.strip('/')}/"
        self.sessions = sessions
        self.polling_budgets = PollingBudgets(budget_factory(profile))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        slot = environ.get(CONNECTION_SLOT)
        if slot is not None:
            over = connection_refusal(slot, environ, self.profile)
            if over is not None:
                metrics.REFUSED.labels("http", over.code).inc()
                log.warning("refused a connection from %s (%s): %s", slot.address, over.code, over.message)
                return over.answer(self.profile.name, start_response)
        engine = environ.get("PATH_INFO", "").startswith(self.prefix)
        request = classify(environ) if engine else None
        refused = host_refusal(environ, self.profile)
        if not engine and refused is None:
            return self.app(environ, start_response)
        if refused is None:
            refused = refusal(environ, request, self.profile, self.sessions)
        if refused is None and environ.get("REQUEST_METHOD") == "POST":
            body, refused = checked_payload(environ, self.profile.max_message_bytes)
            if refused is None and request.sid is not None:
                refused = self.polling_budgets.charge(request.sid, body)
        if refused is not None:
            # A path is the client's own text: escaped, so it cannot forge a log line.
            path = repr(environ.get("PATH_INFO", ""))[1:-1][:200]
            what = request.describe() if request else f"{environ.get('REQUEST_METHOD')} {path}"
            metrics.REFUSED.labels(request.transport.name if request else "http", refused.code).inc()
            log.warning(
                "refused %s from %s (%s): %s",
                what,
                client_address(environ),
                refused.code,
                refused.message,
                extra={
                    "code": refused.code,
                    "transport": request.transport.name if request else "http",
                    "address": client_address(environ),
                    "sid": request.sid if request else None,
                },
            )
            return refused.answer(self.profile.name, start_response)
        if request.is_upgrade:
            metrics.UPGRADES.inc()
            log.info("session %s upgrading from polling to websocket", request.sid)
        if request.transport is WEBSOCKET and not self.profile.websocket_compression:
            # Unoffered, permessage-deflate is never negotiated (simple-websocket accepts any offer).
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)
