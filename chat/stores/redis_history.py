"""Chat history in Redis, shared by every gateway process and machine (``GATEWAY_DATABASE_URL=redis://``).

Per room, one sorted set holds the messages (scored by id) and one hash maps
``client_id`` to id. One Lua script stores a message atomically, so two
processes never hand out the same id and a resend is stored once. Durability
is Redis's: run it with ``appendonly yes`` for a crash to lose nothing acked.
"""

from __future__ import annotations

import json
import time
import uuid

import redis

from chat.stores.history import Message
from config.settings import ConfigError

PREFIX = "rolegate"

# KEYS: id counter, room's messages, room's client ids. ARGV: room, name, text, ts, client_id.
ADD_SCRIPT = """
local known = redis.call('HGET', KEYS[3], ARGV[5])
if known then
    return {0, redis.call('ZRANGE', KEYS[2], known, known, 'BYSCORE')[1]}
end
local id = redis.call('INCR', KEYS[1])
local message = cjson.encode({id = id, room = ARGV[1], name = ARGV[2], text = ARGV[3],
                              ts = tonumber(ARGV[4]), client_id = ARGV[5]})
redis.call('ZADD', KEYS[2], id, message)
redis.call('HSET', KEYS[3], ARGV[5], id)
return {1, message}
"""


def _message(raw: bytes | str) -> Message:
    fields = json.loads(raw)
    return Message(
        int(fields["id"]),
        fields["room"],
        fields["name"],
        fields["text"],
        int(fields["ts"]),
        fields["client_id"],
    )


class RedisHistory:
    """The History interface on one Redis server; safe to share between threads and green threads."""

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url)
        try:
            self.redis.ping()  # fail at start-up, not at the first message
        except redis.RedisError as exc:
            raise ConfigError(f"GATEWAY_DATABASE_URL: cannot use Redis at {url}: {exc}") from None
        self._add = self.redis.register_script(ADD_SCRIPT)

    @staticmethod
    def _keys(room: str) -> tuple[str, str]:
        return f"{PREFIX}:room:{room}:messages", f"{PREFIX}:room:{room}:client-ids"

    def add(self, room: str, name: str, text: str, client_id: str) -> tuple[Message, bool]:
        messages, client_ids = self._keys(room)
        ts = int(time.time() * 1000)
        is_new, raw = self._add(
            keys=[f"{PREFIX}:next-id", messages, client_ids], args=[room, name, text, ts, client_id]
        )
        return _message(raw), bool(is_new)

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        raw = self.redis.zrangebyscore(self._keys(room)[0], f"({since}", "+inf", start=0, num=limit + 1)
        return [_message(r) for r in raw[:limit]], len(raw) > limit

    def latest(self, room: str, limit: int) -> list[Message]:
        raw = self.redis.zrevrange(self._keys(room)[0], 0, limit - 1)
        return [_message(r) for r in reversed(raw)]

    def probe(self) -> None:
        """SET a token on a key of its own (it expires), GET it back."""
        token = uuid.uuid4().hex
        key = f"{PREFIX}:probe:{token}"
        self.redis.set(key, token, ex=60)
        if self.redis.get(key) != token.encode():
            raise RuntimeError(f"Redis gave back something else than the probe token at {key}")
        self.redis.delete(key)

    def close(self) -> None:
        self.redis.close()
