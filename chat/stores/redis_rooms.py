"""Room membership shared through Redis, so presence lists users on every gateway process.

Each process keeps its own connections' rooms locally (as ``Rooms`` does) and
mirrors them into one Redis hash per room, keyed ``instance:sid``. A process
that dies without cleaning up (``kill -9``) stops renewing its heartbeat key,
and its members drop out of every list within ``HEARTBEAT_TTL`` seconds.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import redis

from chat.stores.history import StoreUnavailable
from chat.stores.redis_history import PREFIX
from chat.stores.rooms import Rooms

HEARTBEAT_EVERY = 10  # seconds
HEARTBEAT_TTL = 3 * HEARTBEAT_EVERY


@contextlib.contextmanager
def unavailable_on_redis_error(operation: str) -> Iterator[None]:
    """Redis down is ``StoreUnavailable`` (the chat answers ``unavailable``), not a traceback."""
    try:
        yield
    except redis.RedisError as error:
        raise StoreUnavailable(operation, f"Redis: {error}") from None


class RedisRooms(Rooms):
    """``Rooms`` whose ``members`` sees every process on the same Redis."""

    def __init__(self, url: str, start_background_task: Callable, sleep: Callable[[float], None]) -> None:
        super().__init__()
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.instance = uuid.uuid4().hex[:12]
        self._sleep = sleep
        self._beat()
        start_background_task(self._heartbeat)

    def _beat(self) -> None:
        self.redis.set(f"{PREFIX}:instance:{self.instance}", 1, ex=HEARTBEAT_TTL)

    def _heartbeat(self) -> None:
        while True:
            self._sleep(HEARTBEAT_EVERY)
            # If Redis is away, the next beat renews it, or this process's members age out.
            with contextlib.suppress(redis.RedisError):
                self._beat()

    @staticmethod
    def _key(room: str) -> str:
        return f"{PREFIX}:room:{room}:members"

    def join(self, sid: str, room: str, name: str) -> None:
        super().join(sid, room, name)
        with unavailable_on_redis_error("join"):
            self.redis.hset(self._key(room), f"{self.instance}:{sid}", name)

    def leave(self, sid: str, room: str) -> None:
        super().leave(sid, room)
        with unavailable_on_redis_error("leave"):
            self.redis.hdel(self._key(room), f"{self.instance}:{sid}")

    def members(self, room: str) -> list[str]:
        with unavailable_on_redis_error("members"):
            return self._members(room)

    def _members(self, room: str) -> list[str]:
        entries = self.redis.hgetall(self._key(room))
        instances = sorted({field.split(":", 1)[0] for field in entries})
        alive = self.redis.mget([f"{PREFIX}:instance:{i}" for i in instances]) if instances else []
        dead = {i for i, beat in zip(instances, alive, strict=True) if beat is None}
        if dead:
            stale = [field for field in entries if field.split(":", 1)[0] in dead]
            self.redis.hdel(self._key(room), *stale)
        return sorted({name for field, name in entries.items() if field.split(":", 1)[0] not in dead})
