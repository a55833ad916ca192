"""Prometheus metrics at ``/metrics``, and the hooks the gate and the chat call.

Counters live in prometheus-client's default registry (which also exports the
process's memory, CPU and open files). Connections by transport are not
counted up and down by hooks, which drift when a hook is missed: they are read
from Engine.IO's own session table at scrape time (seam/server.py counts them).
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

CONNECTIONS = Gauge("rolegate_connections", "Open Engine.IO sessions, by current transport", ["transport"])
UPGRADES = Counter("rolegate_upgrades_total", "Upgrades from polling to WebSocket let through to Engine.IO")
REFUSED = Counter(
    "rolegate_refused_requests_total",
    "Engine.IO requests the gate refused; transport=websocket are refused upgrades and WebSockets",
    ["transport", "reason"],
)
EVENTS = Counter("rolegate_events_total", "Socket.IO events received from clients, by event name", ["event"])
ERRORS = Counter("rolegate_errors_total", "Errors answered to clients, by error code", ["code"])
SLOW_CLIENTS_DROPPED = Counter(
    "rolegate_slow_clients_dropped_total", "WebSockets dropped because their client fell too far behind"
)
HISTORY_WRITE = Histogram(
    "rolegate_history_write_seconds",
    "Time to store one chat message in the history (until it is committed)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
STORE_FAILURES = Counter(
    "rolegate_store_failures_total",
    "History store calls that failed or timed out (answered `unavailable`), by operation",
    ["operation"],
)
HISTORY_PRUNED = Counter(
    "rolegate_history_pruned_total", "Messages deleted by the history limits, by reason", ["reason"]
)
AUTH_REFUSED = Counter(
    "rolegate_auth_refused_total",
    "Socket.IO connects refused by authentication (auth=jwt), by code",
    ["code"],
)
AUTH_DISCONNECTS = Counter(
    "rolegate_auth_disconnects_total",
    "Connections the server closed for their identity: token_expired, or disconnected_by_server",
    ["code"],
)
PROFILE = Gauge("rolegate_profile_info", "The profile in force (always 1)", ["profile", "instance_tag"])

# The label sets are the handlers' names and the error codes: a handful, known in advance.
# Caching each child skips prometheus-client's locked lookup on every message.
_event_counter = functools.cache(EVENTS.labels)
_error_counter = functools.cache(ERRORS.labels)


def count_event(event: str) -> None:
    _event_counter(event).inc()


def count_error(code: str) -> None:
    _error_counter(code).inc()


def count_store_failure(operation: str) -> None:
    STORE_FAILURES.labels(operation).inc()


def count_pruned(reason: str, count: int) -> None:
    if count:
        HISTORY_PRUNED.labels(reason).inc(count)


def count_auth_refused(code: str) -> None:
    AUTH_REFUSED.labels(code).inc()


def count_auth_disconnect(code: str) -> None:
    AUTH_DISCONNECTS.labels(code).inc()


@contextmanager
def history_write() -> Iterator[None]:
    """``with history_write(): history.add(...)`` records how long the store took."""
    started = time.perf_counter()
    try:
        yield
    finally:
        HISTORY_WRITE.observe(time.perf_counter() - started)


def authorized(authorization: str, token: str) -> bool:
    """Whether a scrape may read the metrics: always without a token, else with ``Bearer <token>``."""
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def exposition(
    sessions_by_transport: dict[str, int], profile: str, instance_tag: str, accept: str
) -> tuple[bytes, str]:
    """The text a Prometheus scrape gets, in the format its Accept header asks for, and its content type."""
    for transport, count in sessions_by_transport.items():
        CONNECTIONS.labels(transport).set(count)
    PROFILE.labels(profile, instance_tag).set(1)
    encode, content_type = choose_encoder(accept)
    return encode(REGISTRY), content_type
