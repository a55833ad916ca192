"""Does the profile's ping interval fit under the idle limit of the host in front?

An idle long-poll is held ``ping_interval`` seconds before the server answers it
with a ping, and an idle WebSocket carries nothing but that ping: a proxy that
cuts requests with no response byte for ``host_idle_limit`` seconds (Heroku's
H12 at 30 s, nginx's proxy_read_timeout, an ALB's idle timeout) cuts both when
the interval does not fit, and users see reconnects every few seconds.
"""

from __future__ import annotations

import math

from config.profile import Profile
from config.settings import ConfigError

#: Share of the host limit kept free for a busy worker's late ping and clock skew.
MARGIN_SHARE = 0.2
#: ...but never less than this many seconds.
MIN_MARGIN = 1.0


def idle_margin(host_idle_limit: float) -> float:
    return max(MIN_MARGIN, MARGIN_SHARE * host_idle_limit)


def longest_ping_interval(host_idle_limit: float) -> float:
    """The longest ping interval that fits under the limit with its margin."""
    return host_idle_limit - idle_margin(host_idle_limit)


def check_fits_host(profile: Profile) -> None:
    """Raise ConfigError saying why when the ping interval would get requests cut."""
    limit = profile.host_idle_limit
    if not limit or profile.ping_interval <= longest_ping_interval(limit):
        return
    longest = longest_ping_interval(limit)
    if longest < 1:
        raise ConfigError(
            f"host_idle_limit {limit:g} s leaves no room for a ping interval: an idle long-poll is held "
            f"ping_interval seconds (at least 1 s) plus a margin of {idle_margin(limit):g} s; "
            "raise host_idle_limit to at least 2"
        )
    suggestion = math.floor(longest)
    raise ConfigError(
        f"profile {profile.name!r}: ping_interval {profile.ping_interval:g} s does not fit under "
        f"host_idle_limit {limit:g} s: an idle long-poll is held ping_interval seconds, and the host cuts a "
        f"request that gets no byte for {limit:g} s; with a margin of {idle_margin(limit):g} s the ping "
        f"interval must be at most {longest:g} s. Set GATEWAY_PING_INTERVAL={suggestion} (or less), or "
        "correct GATEWAY_HOST_IDLE_LIMIT if your host allows longer"
    )
