"""Strict enforcement of the profile, in front of Engine.IO: one gate, coded refusals.

python-engineio only *advertises* a transport policy: with
``transports=['polling']`` and ``allow_upgrades=False`` it still upgraded a
live polling session when a WebSocket handshake carried ``transport=polling``
and the sid (it reads the Upgrade header to upgrade, the query to check).
So every Engine.IO request passes through here first. ``refusal()`` decides,
from the request's headers alone, with no I/O; ``TransportGate`` answers what it
refuses with a code from ``transports/refusals.py``, one log line and a metric.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable

from config.profile import Profile
from ops import metrics, shutdown
from ops.address import client_address
from ops.fairness import InboundBudget, budget_factory
from seam.packets import PACKET_SEPARATOR, polling_payload_problem
from transports import WEBSOCKET, EngineRequest, classify, websocket_handshake_ok
from transports.refusals import (
    BAD_HANDSHAKE,
    FLOOD,
    MALFORMED_PAYLOAD,
    NO_UPGRADE_HEADER,
    ORIGIN_NOT_ALLOWED,
    SHUTTING_DOWN,
    TOO_LARGE,
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


def refusal(environ: dict, request: EngineRequest, profile: Profile) -> Refusal | None:
    """Why the profile refuses this Engine.IO request, from its headers alone; None lets it through."""
    origin = environ.get("HTTP_ORIGIN")
    allowed = profile.allowed_origins
    if origin and "*" not in allowed and origin not in allowed and origin not in own_origins(environ):
        return Refusal(
            ORIGIN_NOT_ALLOWED,
            f"origin {origin} is not accepted (allowed: this gateway's own origin"
            + (f", {', '.join(allowed)}" if allowed else "")
            + "; add it to GATEWAY_ALLOWED_ORIGINS)",
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
    return oversized(environ, profile.max_message_bytes)


def oversized(environ: dict, limit: int) -> Refusal | None:
    """A polling POST larger than the profile allows, refused before it is read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return Refusal(MALFORMED_PAYLOAD, "request with an invalid Content-Length")
    if length > limit:
        return Refusal(TOO_LARGE, f"{length}-byte request; max_message_bytes is {limit}")
    return None


def checked_payload(environ: dict) -> Refusal | None:
    """Read a polling POST once, check it decodes, and hand the same bytes on to Engine.IO."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    problem = polling_payload_problem(body)
    return Refusal(MALFORMED_PAYLOAD, f"malformed Engine.IO payload: {problem}") if problem else None


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

    def __init__(self, app: WSGIApp, profile: Profile, path: str) -> None:
        self.app = app
        self.profile = profile
        self.prefix = f"/{path.strip('/')}/"
        self.polling_budgets = PollingBudgets(budget_factory(profile))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(self.prefix):
            return self.app(environ, start_response)
        request = classify(environ)
        refused = refusal(environ, request, self.profile)
        if refused is None and environ.get("REQUEST_METHOD") == "POST":
            refused = checked_payload(environ)
            if refused is None and request.sid is not None:
                refused = self.polling_budgets.charge(request.sid, environ["wsgi.input"].getvalue())
        if refused is not None:
            metrics.REFUSED.labels(request.transport.name, refused.code).inc()
            log.warning(
                "refused %s from %s (%s): %s",
                request.describe(),
                client_address(environ),
                refused.code,
                refused.message,
            )
            return refused.answer(self.profile.name, start_response)
        if request.is_upgrade:
            metrics.UPGRADES.inc()
            log.info("session %s upgrading from polling to websocket", request.sid)
        if request.transport is WEBSOCKET and not self.profile.websocket_compression:
            # Unoffered, permessage-deflate is never negotiated (simple-websocket accepts any offer).
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.app(environ, start_response)
