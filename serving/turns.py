"""One request per turn: a keep-alive connection that pipelines requests must not hold the worker.

pywsgi serves a connection's requests in a loop, and gevent's ``recv`` returns at once while
bytes are buffered: a client that writes polling POSTs back to back without reading had the
next one always ready, and its greenlet never let another run (``/healthz`` took 13 s on
web-role). So before a next request that was already there, the connection goes to the back of
the line (ops/fairness.py). A client that waits for its answer before it sends again (every
browser, every Socket.IO client) made the wait for its next request pass through gevent's loop,
which is a turn already: it takes no second one. The turn it used to take cost 12% of polling
time (bench/RESULTS.md, "Toward Node").
"""

from __future__ import annotations

from gevent import get_hub

from ops.fairness import take_turn


class OneRequestPerTurn:
    """Mixin for a pywsgi handler: a next request that did not have to be waited for waits a turn."""

    def _first_bytes(self) -> bytes:
        loop = get_hub().loop
        # gevent's loop notes the time once per pass: unchanged, the wait did not go through it.
        before = loop.now()
        first = super()._first_bytes()  # type: ignore[misc]
        if first and loop.now() == before:
            take_turn()
        return first
