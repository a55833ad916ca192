"""A token bucket per connection: short bursts are fine, a flood is refused, nobody is cut off."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """Allows ``burst`` events at once, refilled at ``rate`` per second."""

    __slots__ = ("rate", "burst", "tokens", "stamp", "clock")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock  # tests pass a clock they move by hand
        self.stamp = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def retry_after(self) -> float:
        """Seconds until the next token, for the error message."""
        return max(0.0, (1 - self.tokens) / self.rate)


def within_bytes(sizes: list[int], most: int, newest: bool = False) -> int:
    """How many of the items of ``sizes`` (oldest first) fit in ``most`` bytes together: the oldest
    ones, or with ``newest`` the newest ones. Never fewer than one, so a replay always moves on."""
    total = 0
    order = reversed(sizes) if newest else iter(sizes)
    for count, size in enumerate(order):
        total += size
        if total > most:
            return max(count, 1)
    return len(sizes)
