"""Where the chat keeps what outlives a connection: history, and room membership across processes.

The one place a store is opened from the profile's ``database_url`` (what the URL names is
judged once, by ``config.settings.store_kind``): SQLite in this process by default, or Redis
shared by every process of a scaled-out gateway. Every history is guarded
(``chat/stores/guard.py``): each call answers, or raises ``StoreUnavailable``, within
``store_timeout``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from chat.stores.guard import GuardedHistory
from chat.stores.history import History, Message, StoreUnavailable
from chat.stores.rooms import Rooms
from config.profile import Profile

__all__ = [
    "History",
    "Message",
    "StoreUnavailable",
    "describe",
    "open_history",
    "open_rooms",
    "start_retention",
]


def open_history(profile: Profile) -> History:
    """The history store the profile names."""
    if profile.store == "redis":
        import redis

        from chat.stores.redis_history import RedisHistory

        # Its sockets yield to green threads by themselves; under gevent a Timeout bounds each call.
        store = RedisHistory(profile.database_url, profile.history_max_messages, profile.store_timeout)
        return GuardedHistory(store, (redis.RedisError,), _green_bound(profile))
    import sqlite3

    from chat.stores.offload import OffloadedHistory
    from chat.stores.sqlite import SqliteHistory, sqlite_path

    path = sqlite_path(profile.database_url)
    offloaded = OffloadedHistory(
        # SQLite gives up waiting for another process's lock a little before the caller does,
        # so the log says "database is locked", and the thread is free when the next call comes.
        lambda: SqliteHistory(path, profile.history_max_messages, busy_timeout=0.8 * profile.store_timeout),
        profile.async_mode,
        profile.store_timeout,
    )
    return GuardedHistory(offloaded, (sqlite3.Error,))


def _green_bound(profile: Profile) -> Callable[[str, Callable[[], Any]], Any] | None:
    """Under gevent, a hard bound on a call that yields (Redis's sockets); else the sockets' timeouts."""
    if profile.async_mode != "gevent":
        return None
    import gevent

    timeout = profile.store_timeout

    def bound(operation: str, fn: Callable[[], Any]) -> Any:
        try:
            with gevent.Timeout(timeout):
                return fn()
        except gevent.Timeout:
            raise StoreUnavailable(operation, f"no answer within {timeout:g} s") from None

    return bound


def start_retention(
    profile: Profile, history: History, start_background_task: Callable, sleep: Callable
) -> None:
    """Prune messages past ``history_max_age`` in the background (the count is kept by each add)."""
    if profile.history_max_age:
        from chat.stores.retention import prune_forever

        start_background_task(prune_forever, history, profile.history_max_age, sleep)


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

        where = f"SQLite file {sqlite_path(profile.database_url)}"
    else:
        parts = urlsplit(profile.database_url)
        where = f"Redis at {parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
    count = profile.history_max_messages or "unlimited"
    age = f"{profile.history_max_age} s" if profile.history_max_age else "forever"
    return f"{where} (per room: {count} messages, each kept {age})"
