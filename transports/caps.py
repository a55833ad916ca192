"""The session caps: how many Engine.IO sessions one address, and the whole process, may hold.

Decided at the gate for new handshakes (``refusal``); the count follows the sessions through the
seam's hooks (``GuardedServer.watch_sessions``), which see every session open and end. The
connection cap is counted by the serving handler (serving/handler.py) and judged in the gate too.
"""

from __future__ import annotations

from config.profile import Profile
from ops.address import AddressCounts, client_address
from transports.refusals import SERVER_FULL, TOO_MANY_SESSIONS, Refusal


class SessionCaps:
    """Open sessions by address and in all; refuses a new one past ``max_sessions[_per_address]``."""

    def __init__(self, profile: Profile) -> None:
        self.per_address = profile.max_sessions_per_address
        self.total = profile.max_sessions
        self._address_of: dict[str, str] = {}
        self._counts = AddressCounts()

    def __len__(self) -> int:
        return len(self._address_of)

    def held_by(self, address: str) -> int:
        return self._counts[address]

    def refusal(self, address: str) -> Refusal | None:
        """Why a new session from ``address`` is refused now, or None."""
        if self.total and len(self._address_of) >= self.total:
            return Refusal(
                SERVER_FULL, f"this process holds {self.total} sessions (max_sessions); try again later"
            )
        if self.per_address and self._counts[address] >= self.per_address:
            return Refusal(
                TOO_MANY_SESSIONS,
                f"{address} holds {self.per_address} sessions (max_sessions_per_address); close some first",
            )
        return None

    def opened(self, sid: str, environ: dict) -> None:
        if sid not in self._address_of:
            address = client_address(environ)
            self._address_of[sid] = address
            self._counts.add(address)

    def closed(self, sid: str) -> None:
        address = self._address_of.pop(sid, None)
        if address is not None:
            self._counts.remove(address)
