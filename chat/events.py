"""The chat's Socket.IO events: join, message, leave (README "Events" documents them).

Each handler checks its payload, does one thing, and answers through the ack:
``{ok: true, ...}`` or ``{ok: false, error: {code, message}}``. A bad request
is refused alone; the connection and the room carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio

from chat.errors import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    NOT_IN_ROOM,
    RATE_LIMITED,
    TOO_MANY_ROOMS,
    ChatError,
    incident_id,
)
from chat.identity import Identities
from chat.limits import TokenBucket
from chat.payloads import Join, Post, room_of
from chat.stores.history import History
from chat.stores.rooms import Rooms
from config.profile import Profile
from ops import metrics
from ops.address import client_address

log = logging.getLogger("rolegate.chat")

#: Messages a join without ``since`` returns.
RECENT = 50

Handler = Callable[[str, Any], dict]


def acked(handler: Handler) -> Handler:
    """Answer every event through its ack, so handlers only write the happy path.

    A ChatError becomes its error ack. Any other exception is our bug: it is logged with its
    traceback under an incident id, and the client gets ``internal_error`` with that id and no
    Python internals. An event sent with more than its one argument gets ``bad_request``.
    """
    event = handler.__name__

    def wrapper(sid: str, *args: Any) -> dict:
        metrics.count_event(event)
        try:
            if len(args) > 1:
                raise ChatError(BAD_REQUEST, f"{event} takes one object, not {len(args)} arguments")
            return handler(sid, args[0] if args else None)
        except ChatError as error:
            metrics.count_error(error.code)
            log.info("refused %s from sid %s: %s (%s)", event, sid, error.message, error.code)
            return error.to_ack()
        except Exception:
            incident = incident_id()
            metrics.count_error(INTERNAL_ERROR)
            log.exception("the %s handler failed for sid %s (incident %s)", event, sid, incident)
            return {
                "ok": False,
                "error": {
                    "code": INTERNAL_ERROR,
                    "message": f"the server failed to handle {event}; incident {incident}",
                    "id": incident,
                },
            }

    wrapper.__name__ = handler.__name__
    return wrapper


def register(
    sio: socketio.Server,
    profile: Profile,
    history: History,
    rooms: Rooms,
    identities: Identities | None = None,
) -> Identities:
    """Attach the chat handlers to ``sio``; ``rooms`` is this process's or the shared membership."""
    identities = identities or Identities(sio, profile, rooms)
    buckets: dict[str, TokenBucket] = {}

    def presence(room: str) -> None:
        sio.emit("presence", {"room": room, "members": rooms.members(room)}, to=room)

    @sio.on("join")
    @acked
    def join(sid: str, data: Any = None) -> dict:
        request = Join.parse(identities.with_name(sid, data))
        name = identities.name_for(sid, request.room, request.name)  # forbidden, name_taken
        already = rooms.name_in(sid, request.room) is not None
        if not already and rooms.count(sid) >= profile.max_rooms:
            raise ChatError(TOO_MANY_ROOMS, f"a connection may be in at most {profile.max_rooms} rooms")
        if request.since is None:
            messages, truncated = history.latest(request.room, RECENT), False
        else:
            messages, truncated = history.after(request.room, request.since, profile.replay_limit)
        rooms.join(sid, request.room, name)
        sio.enter_room(sid, request.room)
        if not already:
            presence(request.room)
        return {
            "ok": True,
            "room": request.room,
            "members": rooms.members(request.room),
            "history": [m.to_wire() for m in messages],
            "truncated": truncated,
        }

    @sio.on("message")
    @acked
    def message(sid: str, data: Any = None) -> dict:
        post = Post.parse(data, profile.max_text_length)
        name = rooms.name_in(sid, post.room)
        if name is None:
            raise ChatError(NOT_IN_ROOM, f"join {post.room!r} before sending to it")
        bucket = buckets.get(sid)
        if bucket is None:  # built once per connection, not on every message
            bucket = buckets[sid] = TokenBucket(profile.messages_per_second, profile.message_burst)
        if not bucket.take():
            raise ChatError(RATE_LIMITED, f"too many messages; retry in {bucket.retry_after():.1f} s")
        with metrics.history_write():
            stored, is_new = history.add(post.room, name, post.text, post.client_id)
        if is_new:
            sio.emit("message", identities.stamp(sid, stored.to_wire()), to=post.room)
        return {"ok": True, "id": stored.id, "ts": stored.ts}

    @sio.on("leave")
    @acked
    def leave(sid: str, data: Any = None) -> dict:
        room = room_of(data, "leave")
        if rooms.name_in(sid, room) is None:
            raise ChatError(NOT_IN_ROOM, f"not in room {room!r}")
        rooms.leave(sid, room)
        sio.leave_room(sid, room)
        presence(room)
        return {"ok": True, "room": room}

    @sio.event
    def connect(sid: str, environ: dict, auth: object = None) -> None:
        identities.connect(sid, environ, auth)  # auth=jwt: ConnectionRefusedError unless the token verifies
        log.info("user connected: sid %s over %s from %s", sid, sio.transport(sid), client_address(environ))

    @sio.event
    def disconnect(sid: str, reason: str = "") -> None:
        log.info("user disconnected: sid %s (%s)", sid, reason or "gone")
        buckets.pop(sid, None)
        identities.forget(sid)
        for room in rooms.forget(sid):
            presence(room)

    return identities
