"""A role profile: everything the gateway allows on the wire, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Profile:
    """One resolved profile; field names match ``config.settings.SETTINGS``."""

    name: str
    description: str
    transports: tuple[str, ...]
    upgrade: bool
    ping_interval: float
    ping_timeout: float
    max_message_bytes: int
    allowed_origins: tuple[str, ...]
    async_mode: str
    worker_connections: int
    threads: int
    max_text_length: int
    max_rooms: int
    messages_per_second: float
    message_burst: int
    replay_limit: int
    database_url: str
    host_idle_limit: float
    instance_tag: str
    metrics_token: str = field(repr=False)  # a secret: kept out of logs and tracebacks
    message_queue: str
    websocket_compression: bool
    websocket_driver: str
    async_handlers: bool
    http_compression: bool
    log_level: str
    #: Settings that came from the environment, for the start-up log line.
    overridden: tuple[str, ...] = field(default=(), compare=False)

    @property
    def offers_upgrade(self) -> bool:
        """An upgrade is only offered when both transports are allowed."""
        return self.upgrade and {"polling", "websocket"} <= set(self.transports)

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


SETTING_FIELDS = tuple(f.name for f in fields(Profile) if f.name not in ("name", "description", "overridden"))
