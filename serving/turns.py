"""One request per turn: a keep-alive connection that pipelines requests must not hold the worker.

pywsgi serves a connection's requests in a loop, and gevent's ``recv`` returns at once while
bytes are buffered: a client that writes polling POSTs back to back without reading had the
next one always ready, and its greenlet never let another run (``/healthz`` took 13 s on
web-role). Yielding before each request puts the connection at the back of the line; it costs
one pass of gevent's loop per request (ops/fairness.py) (bench/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

from ops.fairness import take_turn


class OneRequestPerTurn:
    """Mixin for a pywsgi handler: yield to the other connections before each request."""

    def handle_one_request(self) -> Any:
        take_turn()
        return super().handle_one_request()  # type: ignore[misc]
