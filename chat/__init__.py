"""Chat events, rooms and history: the Socket.IO handlers of the gateway."""

from __future__ import annotations

import socketio

from chat import demo, events
from chat.history import History
from chat.rooms import Rooms
from config.profile import Profile


def open_rooms(sio: socketio.Server, profile: Profile) -> Rooms:
    """Membership kept where the history is: in Redis when processes share one, else in this process."""
    if profile.database_url.startswith(("redis://", "rediss://")):
        from chat.redis_rooms import RedisRooms

        return RedisRooms(profile.database_url, sio.start_background_task, sio.sleep)
    return Rooms()


def register(sio: socketio.Server, profile: Profile, history: History) -> None:
    """Attach every handler: the original demo and the chat."""
    demo.register(sio)
    events.register(sio, profile, history, open_rooms(sio, profile))
