"""The chat's Socket.IO events: join, message, leave (README "Events" documents them).

Each handler checks its payload, does one thing, and answers through the ack:
``{ok: true, ...}`` or ``{ok: false, error: {code, message}}``. A bad request
is refused alone; the connection and the room carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
import socketio

from chat.departures import Departures
from chat.errors import (
    BAD_REQUEST,
    CLIENT_ID_TAKEN,
    INTERNAL_ERROR,
    NOT_IN_ROOM,
    RATE_LIMITED,
    TOO_MANY_ROOMS,
    UNAVAILABLE,
    ChatError,
    incident_id,
)
from chat.identity import Identities, same_sender
from chat.limits import TokenBucket, within_bytes
from chat.payloads import Join, Post, room_of
from chat.stores.history import History, StoreUnavailable
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
        except StoreUnavailable as failure:  # a store call the handler did not answer itself
            return unavailable(failure)
        except ChatError as error:
            metrics.count_error(error.code)
            log.info(
                "refused %s from sid %s: %s (%s)",
                event,
                sid,
                error.message,
                error.code,
                extra={"sid": sid, "code": error.code},
            )
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


def unavailable(failure: StoreUnavailable) -> dict:
    """The ack for a store that failed or did not answer (counted; the store's guard logs it).

    The reason (a file path, a Redis address) stays in the server log.
    """
    metrics.count_error(UNAVAILABLE)
    done = "the message was not stored" if failure.operation == "add" else "it could not be read"
    message = f"chat history is unavailable right now: {done}"
    return ChatError(UNAVAILABLE, message).to_ack()


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
    join_buckets: dict[str, TokenBucket] = {}  # joins (each one a replay) and leaves
    # Presence is sent as changes, never as the whole list (the join ack carries that): a list to
    # every member on every join made one connection's join/leave storm cost N x N. ``known`` is
    # the room's names as this process last saw them, so names the shared store drops on its own
    # (a process that died) are told as ``left`` too; ``local`` counts this process's connections
    # per room, and a room none of them is in is forgotten.
    known: dict[str, set[str]] = {}
    local: dict[str, int] = {}

    def throttle(sid: str, what: str) -> None:
        bucket = join_buckets.get(sid)
        if bucket is None:
            bucket = join_buckets[sid] = TokenBucket(profile.joins_per_second, profile.join_burst)
        if not bucket.take():
            wait = bucket.retry_after()
            raise ChatError(RATE_LIMITED, f"too many joins and leaves; retry {what} in {wait:.1f} s", wait)

    def presence(
        room: str, before: set[str] | None, joined: str | None = None, skip: str | None = None
    ) -> list[str]:
        """Tell the room who left since this process last looked (or since ``before``, the names
        when a join began), and that ``joined`` joined if it was not there; returns the members now.

        Only the joiner's own name is told: the names ``before`` were read before the join waited
        on the history store, and announcing every name that came meanwhile made a burst of N joins
        send N x N x N events (200 joins froze the worker for minutes, bench/RESULTS.md). Each
        join tells its own, on whichever process it is."""
        members = rooms.members(room)
        after = set(members)
        for name in sorted((known.get(room, set()) | (before or set())) - after):
            sio.emit("presence", {"room": room, "left": name}, to=room)
        if joined is not None and joined in after and joined not in (before or ()):
            sio.emit("presence", {"room": room, "joined": joined}, to=room, skip_sid=skip)
        if local.get(room):
            known[room] = after
        else:
            known.pop(room, None)
        return members

    def left_locally(room: str) -> None:
        local[room] = local.get(room, 1) - 1
        if local[room] <= 0:
            del local[room]

    def replay(request: Join) -> tuple[list[dict], bool]:
        """What a join sends back: bounded in messages and in bytes (``truncated``: more wait)."""
        if request.since is None:
            messages, truncated = history.latest(request.room, RECENT), False
        else:
            messages, truncated = history.after(request.room, request.since, profile.replay_limit)
        wire = [m.to_wire() for m in messages]
        sizes = [len(orjson.dumps(m)) for m in wire]
        keep = within_bytes(sizes, profile.replay_max_bytes, newest=request.since is None)
        if keep < len(wire):
            if request.since is None:
                return wire[-keep:], False  # the latest that fit; older ones are older than asked
            return wire[:keep], True
        return wire, truncated

    def depart(sid: str) -> None:
        """Take an ended connection out of its rooms, and tell the rooms (after presence_grace)."""
        try:
            for room in rooms.forget(sid):
                left_locally(room)
                presence(room, None)
        except StoreUnavailable as failure:
            # Redis is down: its membership of this process ages out with the heartbeat key.
            log.warning("could not update presence for sid %s: %s", sid, failure)

    departures = Departures(profile.presence_grace, sio, depart)

    @sio.on("join")
    @acked
    def join(sid: str, data: Any = None) -> dict:
        request = Join.parse(identities.with_name(sid, data))
        throttle(sid, "the join")
        name = identities.name_for(sid, request.room, request.name)  # forbidden, name_taken
        already = rooms.name_in(sid, request.room) is not None
        if not already and rooms.count(sid) >= profile.max_rooms:
            raise ChatError(TOO_MANY_ROOMS, f"a connection may be in at most {profile.max_rooms} rooms")
        before = set(rooms.members(request.room))
        # In the room before the history is read: a message stored meanwhile comes live or in both.
        sio.enter_room(sid, request.room)
        try:
            messages, truncated = replay(request)
        except StoreUnavailable as failure:
            if not already:
                sio.leave_room(sid, request.room)
            return unavailable(failure)
        rooms.join(sid, request.room, name)
        if not already:
            local[request.room] = local.get(request.room, 0) + 1
        return {
            "ok": True,
            "room": request.room,
            "members": presence(request.room, before, joined=name, skip=sid),
            "history": messages,
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
            wait = bucket.retry_after()
            raise ChatError(RATE_LIMITED, f"too many messages; retry in {wait:.1f} s", wait)
        sub = identities.sub_of(sid)
        try:
            with metrics.history_write():
                stored, is_new = history.add(post.room, name, post.text, post.client_id, sub)
        except StoreUnavailable as failure:
            return unavailable(failure)
        if not is_new and not same_sender(stored, sub, name):
            # A resend is the sender's own: another sender's reuse must not be acked with a message
            # that is not theirs (their text would be lost while they are told it was stored).
            raise ChatError(
                CLIENT_ID_TAKEN, "another sender in this room used this client_id first; send with a new one"
            )
        if is_new:
            sio.emit("message", stored.to_wire(), to=post.room)
        return {"ok": True, "id": stored.id, "seq": stored.seq, "ts": stored.ts}

    @sio.on("leave")
    @acked
    def leave(sid: str, data: Any = None) -> dict:
        room = room_of(data, "leave")
        throttle(sid, "the leave")
        name = rooms.name_in(sid, room)
        if name is None:
            raise ChatError(NOT_IN_ROOM, f"not in room {room!r}")
        rooms.leave(sid, room)
        sio.leave_room(sid, room)
        left_locally(room)
        # A leave is told at once: an ended connection of this name, in its grace, leaves with it.
        for ended in [other for other in list(departures.pending) if rooms.name_in(other, room) == name]:
            rooms.leave(ended, room)
            left_locally(room)
        presence(room, None)
        return {"ok": True, "room": room}

    @sio.event
    def connect(sid: str, environ: dict, auth: object = None) -> None:
        identities.connect(sid, environ, auth)  # auth=jwt: ConnectionRefusedError unless the token verifies
        transport, address = sio.transport(sid), client_address(environ)
        log.info(
            "user connected: sid %s over %s from %s",
            sid,
            transport,
            address,
            extra={"sid": sid, "transport": transport, "address": address},
        )

    @sio.event
    def disconnect(sid: str, reason: str = "") -> None:
        log.info("user disconnected: sid %s (%s)", sid, reason or "gone", extra={"sid": sid})
        buckets.pop(sid, None)
        join_buckets.pop(sid, None)
        identities.forget(sid)
        departures.add(sid)  # still a member for presence_grace: back within it, it never left

    return identities
