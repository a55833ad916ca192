"""Chat history in Redis, shared by every gateway process and machine (``GATEWAY_DATABASE_URL=redis://``).

Per room, one sorted set holds the messages (scored by id), one hash maps
``client_id`` to id, and one counter hands out ``seq``. One Lua script stores a
message atomically, so two processes never hand out the same id or seq, a resend
is stored once, and the room's ``history_max_messages`` is kept in the same step.
Durability is Redis's: run it with ``appendonly yes`` for a crash to lose nothing acked.
"""

from __future__ import annotations

import json
import time
import uuid

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chat.stores.history import Message
from config.settings import ConfigError

PREFIX = "rolegate"
#: Every room that has had a message since it last emptied: what the age pruning walks.
ROOMS_KEY = f"{PREFIX}:rooms"
#: Most old messages one add deletes when ``history_max_messages`` was lowered; the rest go with later adds.
PRUNE_PER_ADD = 1000

# KEYS: id counter, room's messages, room's client ids, room's seq counter, the rooms set.
# ARGV: room, name, text, ts, client_id, max messages (0 = unlimited), sender's sub ("" for none).
ADD_SCRIPT = f"""
local known = redis.call('HGET', KEYS[3], ARGV[5])
if known then
    local raw = redis.call('ZRANGE', KEYS[2], known, known, 'BYSCORE')[1]
    if raw then
        return {{0, raw}}
    end
end
local id = redis.call('INCR', KEYS[1])
local seq = redis.call('INCR', KEYS[4])
local message = cjson.encode({{id = id, room = ARGV[1], name = ARGV[2], text = ARGV[3],
                              ts = tonumber(ARGV[4]), client_id = ARGV[5], seq = seq, sub = ARGV[7]}})
redis.call('ZADD', KEYS[2], id, message)
redis.call('HSET', KEYS[3], ARGV[5], id)
redis.call('SADD', KEYS[5], ARGV[1])
local max = tonumber(ARGV[6])
if max > 0 then
    local over = math.min(redis.call('ZCARD', KEYS[2]) - max, {PRUNE_PER_ADD})
    if over > 0 then
        for _, raw in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
            redis.call('HDEL', KEYS[3], cjson.decode(raw).client_id)
        end
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
    end
end
return {{1, message}}
"""

# KEYS: room's messages, room's client ids, the rooms set. ARGV: room, cutoff ts, batch.
PRUNE_SCRIPT = """
local n = 0
for _, raw in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
    local message = cjson.decode(raw)
    if message.ts >= tonumber(ARGV[2]) then
        break
    end
    redis.call('HDEL', KEYS[2], message.client_id)
    n = n + 1
end
if n > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SREM', KEYS[3], ARGV[1])
end
return n
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
        int(fields.get("seq", 0)),  # 0: stored before seq existed
        fields.get("sub", ""),  # "": stored before sub existed
    )


class RedisHistory:
    """The History interface on one Redis server; safe to share between threads and green threads.

    Each command waits at most ``timeout`` seconds on its socket and is retried once at once (a
    connection left dead by a Redis restart), so a Redis that is down fails fast.
    """

    def __init__(self, url: str, max_messages: int = 0, timeout: float = 5.0) -> None:
        self.redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self.max_messages = max_messages
        try:
            self.redis.ping()  # fail at start-up, not at the first message
        except redis.RedisError as exc:
            raise ConfigError(f"GATEWAY_DATABASE_URL: cannot use Redis at {url}: {exc}") from None
        self._add = self.redis.register_script(ADD_SCRIPT)
        self._prune = self.redis.register_script(PRUNE_SCRIPT)

    @staticmethod
    def _keys(room: str) -> tuple[str, str]:
        return f"{PREFIX}:room:{room}:messages", f"{PREFIX}:room:{room}:client-ids"

    def add(self, room: str, name: str, text: str, client_id: str, sub: str = "") -> tuple[Message, bool]:
        messages, client_ids = self._keys(room)
        ts = int(time.time() * 1000)
        is_new, raw = self._add(
            keys=[f"{PREFIX}:next-id", messages, client_ids, f"{PREFIX}:room:{room}:seq", ROOMS_KEY],
            args=[room, name, text, ts, client_id, self.max_messages, sub],
        )
        return _message(raw), bool(is_new)

    def after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        raw = self.redis.zrangebyscore(self._keys(room)[0], f"({since}", "+inf", start=0, num=limit + 1)
        return [_message(r) for r in raw[:limit]], len(raw) > limit

    def latest(self, room: str, limit: int) -> list[Message]:
        raw = self.redis.zrevrange(self._keys(room)[0], 0, limit - 1)
        return [_message(r) for r in reversed(raw)]

    def prune_older_than(self, cutoff_ms: int, batch: int) -> int:
        """For each room, delete up to ``batch`` of its oldest messages older than the cutoff."""
        deleted = 0
        for raw_room in self.redis.sscan_iter(ROOMS_KEY, count=100):
            room = raw_room.decode() if isinstance(raw_room, bytes) else raw_room
            deleted += int(self._prune(keys=[*self._keys(room), ROOMS_KEY], args=[room, cutoff_ms, batch]))
        return deleted

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
