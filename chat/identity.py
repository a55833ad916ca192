"""Which connection is whom: identities from tokens, names in rooms, expiry, disconnecting a user.

With ``auth=jwt`` the ``connect`` handler verifies the token (auth/tokens.py) or refuses the
connection with python-socketio's ``ConnectionRefusedError`` (the client gets ``connect_error``
with ``data: {code, message}``). A connection's name is its token's ``name`` whatever ``join``
says, and its rooms are the token's ``rooms`` globs. One green thread per process closes the
connections whose tokens expire (a heap of expiry times, looked at once a second), after an
``error`` event ``token_expired``.

With ``auth=none`` a name is whatever the user types, NFKC-normalised; no two members of a room
have names that differ only in case or compatibility form (``name_taken``; the exact same name
is the same member, as a second tab or a reconnect is). A courtesy against look-alikes, not an
identity: anyone may type any name.

Disconnecting a user (the API) reaches every process: the request is published on a Redis
channel of ours that every process listens to (the profile's message queue), and each closes
its own connections of that user (docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import socketio

from auth import TokenError, Verifier, name_key, normalize_name
from auth.keys import verifier_for
from chat.errors import (
    DISCONNECTED_BY_SERVER,
    FORBIDDEN,
    INVALID_NAME,
    NAME_TAKEN,
    TOKEN_EXPIRED,
    ChatError,
)
from chat.stores.history import Message
from chat.stores.rooms import Rooms
from config.profile import Profile
from ops import metrics
from ops.address import client_address

log = logging.getLogger("rolegate.auth")

#: Seconds between looks at the expiry heap: a connection outlives its token by at most this.
SWEEP_EVERY = 1.0
#: The Redis channel every process listens on for "disconnect this user".
DISCONNECT_CHANNEL = "rolegate:auth:disconnect-user"
MAX_NAME = 32


def same_sender(stored: Message, sub: str, name: str) -> bool:
    """Whether ``stored`` was sent by this sender, so a resend of its ``client_id`` is theirs to be acked.

    A ``client_id`` is scoped to who sent it: a signed identity (``auth=jwt``) is its ``sub``, whatever
    name its token gives now; a sender without one (``auth=none``, the server API) is its name. One
    with a ``sub`` and one without are never the same sender.
    """
    if stored.sub or sub:
        return stored.sub == sub
    return stored.name == name


class Identities:
    """Who each connection of this process is, under the profile's ``auth``."""

    def __init__(self, sio: socketio.Server, profile: Profile, rooms: Rooms) -> None:
        self.sio = sio
        self.rooms = rooms
        self.verifier: Verifier | None = verifier_for(profile)
        self.by_sid: dict[str, Any] = {}
        self.sids_by_sub: dict[str, set[str]] = defaultdict(set)
        self._expiries: list[tuple[float, str]] = []
        self._redis = None
        if self.verifier is not None:
            sio.start_background_task(self._sweep)
        queue = profile.broadcast_queue if profile.api_key else ""  # only the API disconnects users
        if queue and urlsplit(queue).scheme in ("redis", "rediss"):
            import redis

            self._redis = redis.Redis.from_url(queue)
            sio.start_background_task(self._listen_for_disconnects)
        elif queue:
            log.warning("disconnecting a user reaches this process only: %s is not redis://", queue)

    @property
    def verified(self) -> bool:
        return self.verifier is not None

    # --- connect and disconnect ------------------------------------------------------------

    def connect(self, sid: str, environ: dict, auth: Any) -> None:
        """Verify the connect's token (``auth=jwt``), or raise ConnectionRefusedError with its code."""
        if self.verifier is None:
            return
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            identity = self.verifier.verify(token)
        except TokenError as error:
            metrics.count_auth_refused(error.code)
            log.info("refused connect from %s: %s (%s)", client_address(environ), error.message, error.code)
            raise socketio.exceptions.ConnectionRefusedError(error.message, error.to_data()) from None
        self.by_sid[sid] = identity
        self.sids_by_sub[identity.sub].add(sid)
        heapq.heappush(self._expiries, (identity.expires, sid))
        log.info("sid %s is %s (token valid %.0f s more)", sid, identity.sub, identity.expires - time.time())

    def forget(self, sid: str) -> None:
        identity = self.by_sid.pop(sid, None)
        if identity is not None:
            sids = self.sids_by_sub.get(identity.sub)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self.sids_by_sub[identity.sub]
        # Expiries of gone connections are dropped lazily; rebuild when they outnumber the live ones.
        if len(self._expiries) > 2 * len(self.by_sid) + 64:
            self._expiries = [entry for entry in self._expiries if entry[1] in self.by_sid]
            heapq.heapify(self._expiries)

    # --- names and rooms ---------------------------------------------------------------------

    def with_name(self, sid: str, data: Any) -> Any:
        """A ``join`` payload with the token's name put in (``auth=jwt``): any name sent is ignored."""
        identity = self.by_sid.get(sid)
        if identity is not None and isinstance(data, dict):
            return {**data, "name": identity.name}
        return data

    def name_for(self, sid: str, room: str, requested: str) -> str:
        """The name ``sid`` joins ``room`` under: the token's (if it allows the room), or a free typed one."""
        identity = self.by_sid.get(sid)
        if identity is not None:
            if not identity.may_enter(room):
                raise ChatError(FORBIDDEN, f"your token does not allow room {room!r}")
            return identity.name
        name = normalize_name(requested)
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise ChatError(INVALID_NAME, f"name must be at most {MAX_NAME} printable characters")
        # The exact same name is the same member: a second tab, or a reconnect whose old session the
        # server has not yet seen go (that can take ping_interval + ping_timeout). A name that only
        # looks the same (another case, full-width letters, a ligature) is someone else's: refused.
        key = name_key(name)
        mine = self.rooms.name_in(sid, room)
        for member in self.rooms.members(room):
            if member != name and member != mine and name_key(member) == key:
                raise ChatError(
                    NAME_TAKEN, f"{member!r} is in {room!r}: pick a name that does not look like it"
                )
        return name

    def sub_of(self, sid: str) -> str:
        """The token's ``sub`` of ``sid`` (``auth=jwt``), stored with its messages; "" with ``auth=none``."""
        identity = self.by_sid.get(sid)
        return identity.sub if identity is not None else ""

    # --- closing connections -----------------------------------------------------------------

    def _close(self, sid: str, code: str, message: str) -> None:
        """Tell one connection of this process why, then close it."""
        metrics.count_auth_disconnect(code)
        self.sio.emit("error", {"code": code, "message": message}, to=sid, ignore_queue=True)
        self.sio.disconnect(sid, ignore_queue=True)

    def _sweep(self) -> None:
        """Close connections whose token has expired: one loop per process, not a timer per connection."""
        while True:
            self.sio.sleep(SWEEP_EVERY)
            now = time.time()
            while self._expiries and self._expiries[0][0] <= now:
                expires, sid = heapq.heappop(self._expiries)
                identity = self.by_sid.get(sid)
                if identity is None or identity.expires != expires:
                    continue
                log.info("sid %s (%s): token expired, disconnecting", sid, identity.sub)
                with contextlib.suppress(Exception):  # the connection may be closing by itself
                    self._close(sid, TOKEN_EXPIRED, "your token has expired; connect again with a new one")

    def disconnect_user(self, sub: str) -> None:
        """Close every connection of ``sub`` on every process (``disconnected_by_server``)."""
        if self._redis is not None:
            self._redis.publish(DISCONNECT_CHANNEL, json.dumps({"sub": sub}))
        else:
            self._disconnect_here(sub)

    def _disconnect_here(self, sub: str) -> int:
        sids = list(self.sids_by_sub.get(sub, ()))
        for sid in sids:
            log.info("sid %s (%s): disconnected by the server's API", sid, sub)
            with contextlib.suppress(Exception):
                self._close(sid, DISCONNECTED_BY_SERVER, "the server closed your connection")
        return len(sids)

    def _listen_for_disconnects(self) -> None:
        """Every process: close its own connections of each user the channel names."""
        import redis

        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(DISCONNECT_CHANNEL)
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            self._disconnect_here(json.loads(message["data"])["sub"])
            except redis.RedisError as error:
                log.warning("listening for user disconnects on Redis failed (%s); retrying", error)
                self.sio.sleep(1)
