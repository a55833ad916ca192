"""A token bucket per connection: short bursts are fine, a flood is refused, nobody is cut off."""

from __future__ import annotations

import time


class TokenBucket:
    """Allows ``burst`` events at once, refilled at ``rate`` per second."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def retry_after(self) -> float:
        """Seconds until the next token, for the error message."""
        return max(0.0, (1 - self.tokens) / self.rate)
