"""Where the chat keeps what outlives a connection: history, and room membership across processes.

The one place a store is opened from the profile's ``database_url`` (what the URL names is
judged once, by ``config.settings.store_kind``): SQLite in this process by default, or Redis
shared by every process of a scaled-out gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from chat.stores.history import History, Message
from chat.stores.rooms import Rooms
from config.profile import Profile

__all__ = ["History", "Message", "describe", "open_history", "open_rooms"]


def open_history(profile: Profile) -> History:
    """The history store the profile names."""
    if profile.store == "redis":
        from chat.stores.redis_history import RedisHistory

        return RedisHistory(profile.database_url)  # its sockets yield to green threads by themselves
    from chat.stores.offload import OffloadedHistory
    from chat.stores.sqlite import SqliteHistory, sqlite_path

    path = sqlite_path(profile.database_url)
    return OffloadedHistory(lambda: SqliteHistory(path), profile.async_mode)


def open_rooms(profile: Profile, start_background_task: Callable, sleep: Callable[[float], None]) -> Rooms:
    """Membership kept where the history is: in Redis when processes share one, else in this process."""
    if profile.store == "redis":
        from chat.stores.redis_rooms import RedisRooms

        return RedisRooms(profile.database_url, start_background_task, sleep)
    return Rooms()


def describe(profile: Profile) -> str:
    """Where history is kept, for the start-up log: a file path, or a URL without its password."""
    if profile.store == "sqlite":
        from chat.stores.sqlite import sqlite_path

        return f"SQLite file {sqlite_path(profile.database_url)}"
    parts = urlsplit(profile.database_url)
    return f"Redis at {parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
