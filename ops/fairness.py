"""No client can hurt another: connections take turns, and each has an inbound budget.

Taking turns: gevent's ``recv`` returns at once while bytes are buffered, so a reader that always
has input never lets another greenlet run. Every reader calls ``take_turn()`` before a message
it already holds and between reads (rfc6455/connection.py, seam/drivers.py, serving/handler.py).
``gevent.sleep(0)`` was not enough: gevent runs queued callbacks in batches of 50 before it looks
at the clock and polls the sockets again, so a turn of a few milliseconds (a 16 KiB read of empty
continuation frames) held every other socket for 50 turns (0.4 s). ``take_turn()`` waits on a
timer instead, which fires only after the loop has polled the sockets and run the others' I/O:
one turn per loop pass, 9 µs instead of 5 µs, and only while a client has more input buffered.

The inbound budget only stops floods. It is charged once per packet and once per read on the
hot path, so a charge is a subtraction and a comparison: the clock is read only when a bucket
runs dry, and the tokens the elapsed time earned are added then (capped at the burst). Refilled
that late, the budget lets a client through by at most one burst more than a continuous token
bucket would, which is far below what a flood sends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent

#: How long take_turn() sleeps: any positive delay makes it wait for the next pass of the loop.
TURN_S = 1e-6


def take_turn() -> None:
    """Let every other ready connection run once (after the loop polled the sockets), then go on."""
    gevent.sleep(TURN_S)


def wait_readable(fileno: int, watcher: Any = None) -> Any:
    """Wait until ``fileno`` has bytes to read; returns the watcher, for the next wait to reuse.

    gevent's ``recv`` tries the socket before it waits, and a client that waits for its answer has
    sent nothing yet: a failed read and its exception per message (1.5 us). Waiting first skips it,
    and the wait is a pass of gevent's loop, so it is a turn too (rfc6455/connection.py, and
    serving/handler.py between two HTTP requests).
    """
    hub = gevent.get_hub()
    if watcher is None:
        watcher = hub.loop.io(fileno, 1)  # 1: readable
    hub.wait(watcher)
    return watcher


#: The word every flood refusal starts with: the WebSocket close reason (code 1008) and the
#: polling refusal code (429, transports/refusals.py).
FLOOD = "flood"


class InboundBudget:
    """Two token buckets, packets and bytes, for one connection (or one polling session)."""

    __slots__ = (
        "packets",
        "bytes",
        "packets_per_second",
        "bytes_per_second",
        "packet_burst",
        "byte_burst",
        "_refilled",
        "_clock",
        "_over",
    )

    def __init__(
        self,
        packets_per_second: float,
        bytes_per_second: float,
        packet_burst: float,
        byte_burst: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.packets_per_second = packets_per_second
        self.bytes_per_second = bytes_per_second
        self.packet_burst = packet_burst
        self.byte_burst = byte_burst
        #: Tokens left; below zero the connection is over its budget (until time earns it more).
        self.packets = float(packet_burst)
        self.bytes = float(byte_burst)
        self._clock = clock
        self._refilled = clock()
        self._over = ""  # why the last refused take() was refused

    def take_packet(self) -> bool:
        """Charge one packet; False once the connection is over its budget."""
        self.packets -= 1
        return self.packets >= 0 or self._refill()

    def take_bytes(self, count: int) -> bool:
        """Charge ``count`` bytes read; False once the connection is over its budget."""
        self.bytes -= count
        return self.bytes >= 0 or self._refill()

    def take(self, packets: int, count: int) -> bool:
        """Charge a whole request (a polling POST); a refused one is not charged."""
        self.packets -= packets
        self.bytes -= count
        if (self.packets >= 0 and self.bytes >= 0) or self._refill():
            return True
        self._over = self.reason()
        self.packets += packets
        self.bytes += count
        return False

    def _refill(self) -> bool:
        now = self._clock()
        elapsed = now - self._refilled
        self._refilled = now
        self.packets = min(self.packet_burst, self.packets + elapsed * self.packets_per_second)
        self.bytes = min(self.byte_burst, self.bytes + elapsed * self.bytes_per_second)
        return self.packets >= 0 and self.bytes >= 0

    def full(self) -> bool:
        """Both buckets are full: the budget is as good as a new one (a table may forget it)."""
        self._refill()
        return self.packets >= self.packet_burst and self.bytes >= self.byte_burst

    def reason(self) -> str:
        """Why a connection over this budget is refused; starts with ``flood:``."""
        if self._over and self.packets >= 0 and self.bytes >= 0:
            return self._over  # a refused take() was not charged
        what = (
            f"more than {self.packets_per_second:g} Engine.IO packets a second"
            if self.packets < 0
            else f"more than {self.bytes_per_second:g} bytes a second"
        )
        return f"{FLOOD}: {what}"


def budget_factory(profile: object) -> Callable[[], InboundBudget]:
    """A new budget per connection, from a profile's ``inbound_*`` settings.

    A byte burst under ``max_message_bytes`` refuses the largest messages as a flood; the
    profile warns of it at start-up (config/profile.py).
    """
    packets = profile.inbound_packets_per_second  # type: ignore[attr-defined]
    rate = profile.inbound_bytes_per_second  # type: ignore[attr-defined]
    packet_burst = profile.inbound_packet_burst  # type: ignore[attr-defined]
    byte_burst = profile.inbound_byte_burst  # type: ignore[attr-defined]

    def make() -> InboundBudget:
        return InboundBudget(packets, rate, packet_burst, byte_burst)

    return make
