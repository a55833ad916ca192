"""python-socketio's RedisManager, with a heartbeat that says whether its listener still hears.

The listener (a background green thread) reconnects by itself after Redis goes away, with a
backoff up to 60 s; meanwhile this process still *sends* broadcasts but receives none from the
other processes, and nothing says so. Here every process publishes a small heartbeat on the
queue's own channel every ``HEARTBEAT_EVERY`` seconds and notes when its own comes back through
the listener: a listener that has not heard its heartbeat for ``DEAF_AFTER`` seconds is deaf
(``/readyz`` check ``queue``, ops/readiness.py). Heartbeats are taken out before python-socketio
sees them (other versions of the gateway would ignore them anyway: their method is unknown).

python-socketio also starts the listener only at the first connection; ``start_message_queue``
starts it with the process, so a fresh process's readiness is about Redis, not about traffic.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import redis
import socketio

from seam.rooms import RoomIndex

HEARTBEAT_EVERY = 1.0  # seconds: one small publish a second per process
DEAF_AFTER = 5 * HEARTBEAT_EVERY
METHOD = "rolegate.heartbeat"


class ObservedRedisManager(RoomIndex, socketio.RedisManager):
    """A RedisManager whose listener reports when it last heard this process's own heartbeat."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.started: float | None = None
        self.last_echo: float | None = None
        self._beat = json.dumps({"method": METHOD, "host_id": self.host_id}).encode()
        self._beat_prefix = json.dumps({"method": METHOD})[:-1].encode()

    def initialize(self) -> None:
        super().initialize()  # starts the listener
        self.started = time.monotonic()
        if not self.write_only:
            self.server.start_background_task(self._heartbeat)

    def _heartbeat(self) -> None:
        # Its own connection, with timeouts: a Redis that does not answer never stalls the beat.
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        while True:
            # If it fails, the listener hears nothing, which is what /readyz reports.
            with contextlib.suppress(redis.RedisError):
                client.publish(self.channel, self._beat)
            self.server.sleep(HEARTBEAT_EVERY)

    def _listen(self) -> Iterator[Any]:
        for message in super()._listen():
            if isinstance(message, bytes) and message.startswith(self._beat_prefix):
                if message == self._beat:
                    self.last_echo = time.monotonic()
                continue
            yield message

    def heard_ago(self) -> float | None:
        """Seconds since the listener last heard this process's heartbeat; None if never."""
        return None if self.last_echo is None else time.monotonic() - self.last_echo

    def listener_state(self) -> tuple[bool, str]:
        """Whether the listener is subscribed and hears its heartbeat, and in words."""
        if self.started is None:
            return False, "the message queue listener was not started"
        pubsub = self.pubsub
        if pubsub is None or not pubsub.subscribed:
            return False, f"the listener is not subscribed to channel {self.channel!r}"
        heard = self.heard_ago()
        if heard is None:
            waited = time.monotonic() - self.started
            if waited <= DEAF_AFTER:
                return False, f"the listener has not heard its first heartbeat yet ({waited:.1f} s)"
            return False, f"the listener has heard no heartbeat in {waited:.0f} s since start-up"
        if heard > DEAF_AFTER:
            return False, (
                f"the listener has heard no heartbeat for {heard:.0f} s (sent every {HEARTBEAT_EVERY:g} s)"
            )
        return True, f"heartbeat heard {heard:.1f} s ago"


def start_message_queue(sio: socketio.Server) -> ObservedRedisManager | None:
    """Start the message queue's listener now (python-socketio waits for a first connection)."""
    manager = sio.manager
    if not isinstance(manager, ObservedRedisManager):
        return None
    if not sio.manager_initialized:
        sio.manager_initialized = True
        manager.initialize()
    return manager
