"""Who sent a request, in words a user would recognise in a log line."""

from __future__ import annotations

import ipaddress


def client_address(environ: dict) -> str:
    """The address a user would recognise: the first X-Forwarded-For hop, if any."""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
    return forwarded or environ.get("REMOTE_ADDR", "?")


def cap_address(environ: dict) -> str:
    """The address the per-address caps count: the peer, or the client a proxy of ours names.

    ``X-Forwarded-For`` is believed only from a peer on a loopback or private network (a proxy in
    front: nginx, a PaaS router), and then only its last entry, the one that proxy added: earlier
    entries are whatever the client wrote. Anyone else is counted by the address it connects from.
    """
    peer = environ.get("REMOTE_ADDR", "?")
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded and _is_proxy(peer):
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer


#: Where a proxy of ours connects from: loopback, RFC 1918, IPv6 unique-local. (Not ``is_private``:
#: that also holds the documentation ranges and other addresses no proxy of ours has.)
PROXY_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
)


def _is_proxy(peer: str) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in PROXY_NETWORKS)


#: Where the serving handler tells the gate how many connections the request's address held when
#: this connection made its first request, this one included (transports/gate.py refuses past the cap).
CONNECTION_RANK = "rolegate.connection_rank"


class AddressCounts:
    """How many of something (connections, sessions) each address holds open; one per process."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, address: str) -> int:
        """Count one more for ``address``; returns its count, this one included."""
        count = self._counts.get(address, 0) + 1
        self._counts[address] = count
        return count

    def remove(self, address: str) -> None:
        count = self._counts.get(address, 0) - 1
        if count > 0:
            self._counts[address] = count
        else:
            self._counts.pop(address, None)

    def __getitem__(self, address: str) -> int:
        return self._counts.get(address, 0)

    def __len__(self) -> int:
        """How many addresses hold at least one."""
        return len(self._counts)
