"""A role profile: everything the gateway allows on the wire, as plain data.

``Profile`` is built from ``config.settings.SETTINGS``: one field per setting, in the
table's order, so a new setting is written once. Secret settings stay out of its repr.
"""

from __future__ import annotations

from dataclasses import field, make_dataclass
from typing import Any

from config.settings import SETTINGS, store_kind


class ProfileMethods:
    """What a profile derives from its settings (the fields come from SETTINGS)."""

    name: str
    transports: tuple[str, ...]
    upgrade: bool
    ping_interval: float
    ping_timeout: float
    async_mode: str
    host_idle_limit: float
    admin_ui: bool
    database_url: str
    message_queue: str
    max_message_bytes: int
    inbound_byte_burst: int
    overridden: tuple[str, ...]
    sources: dict[str, str]

    @property
    def offers_upgrade(self) -> bool:
        """An upgrade is only offered when both transports are allowed."""
        return self.upgrade and {"polling", "websocket"} <= set(self.transports)

    @property
    def store(self) -> str:
        """The kind of history store: ``sqlite`` or ``redis``."""
        return store_kind(self.database_url)

    @property
    def broadcast_queue(self) -> str:
        """The Redis that carries broadcasts between processes, or "" for this process only.

        Processes that share their history in Redis are scaled out, so they share its
        server as the message queue too unless ``message_queue`` names another.
        """
        if self.message_queue:
            return self.message_queue
        return self.database_url if self.store == "redis" else ""

    def set_by_user(self, setting: str) -> bool:
        """The setting's value came from the user (environment, profile file, app), not a built-in."""
        source = self.sources.get(setting, "")
        return not (source == "default" or source.startswith(("built-in", "preset")))

    def warnings(self) -> list[str]:
        """Settings the user set that have no effect in this profile: one start-up warning line each."""
        found = []
        websocket = "websocket" in self.transports
        if self.upgrade and not self.offers_upgrade and self.set_by_user("upgrade"):
            found.append(
                f"upgrade = true has no effect: profile '{self.name}' allows only "
                f"{', '.join(self.transports)}; an upgrade needs both polling and websocket in transports"
            )
        for setting in ("websocket_compression", "websocket_driver"):
            if not websocket and self.set_by_user(setting):
                found.append(
                    f"{setting} has no effect: profile '{self.name}' allows no WebSocket "
                    f"(transports: {', '.join(self.transports)})"
                )
        if self.inbound_byte_burst < self.max_message_bytes:
            found.append(
                f"inbound_byte_burst {self.inbound_byte_burst} is under max_message_bytes "
                f"{self.max_message_bytes}: a message that large is refused as a flood (1008, 429)"
            )
        for setting in ("admin_username", "admin_password", "admin_mode"):
            if not self.admin_ui and self.set_by_user(setting):
                found.append(f"{setting} has no effect: admin_ui is off")
        if self.async_mode != "threading" and self.set_by_user("threads"):
            found.append(
                f"threads has no effect: it sizes the gthread worker of async_mode threading, "
                f"and async_mode is {self.async_mode}"
            )
        return found

    def allows(self, transport: str) -> bool:
        return transport in self.transports

    def summary(self) -> str:
        """One line for the start-up log: what is in force and where it came from."""
        order = " then ".join(self.transports)
        upgrade = "upgrade offered" if self.offers_upgrade else "no upgrade offered"
        line = (
            f"profile '{self.name}' in force: {order}, {upgrade}, "
            f"ping interval {self.ping_interval:g} s, ping timeout {self.ping_timeout:g} s, "
            f"async mode {self.async_mode}"
        )
        if self.host_idle_limit:
            line += f", host idle limit {self.host_idle_limit:g} s"
        if self.overridden:
            line += f"; from the environment: {', '.join(self.overridden)}"
        return line


Profile = make_dataclass(
    "Profile",
    [
        ("name", str),
        ("description", str),
        *((s.name, Any, field(repr=not s.secret)) for s in SETTINGS),
        # Settings that came from the environment, for the start-up log line.
        ("overridden", tuple, field(default=(), compare=False)),
        # Where each setting's value came from (``rolegate config``).
        ("sources", dict, field(default_factory=dict, compare=False, repr=False)),
    ],
    bases=(ProfileMethods,),
    frozen=True,
)
Profile.__module__ = __name__
Profile.__doc__ = "One resolved profile: ``name``, ``description``, then one field per setting of SETTINGS."
