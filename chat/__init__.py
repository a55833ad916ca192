"""Chat events, rooms and history: the Socket.IO handlers of the gateway."""

from __future__ import annotations

import socketio

from chat import demo, events
from chat.stores import History, open_rooms, start_retention
from config.profile import Profile


def register(sio: socketio.Server, profile: Profile, history: History) -> None:
    """Attach every handler: the original demo and the chat."""
    demo.register(sio)
    events.register(sio, profile, history, open_rooms(profile, sio.start_background_task, sio.sleep))
    start_retention(profile, history, sio.start_background_task, sio.sleep)
