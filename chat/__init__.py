"""Chat events, rooms and history: the Socket.IO handlers of the gateway."""

from __future__ import annotations

from dataclasses import dataclass

import socketio

from chat import demo, events
from chat.identity import Identities
from chat.stores import History, open_rooms, start_retention
from chat.stores.rooms import Rooms
from config.profile import Profile


def register(sio: socketio.Server, profile: Profile, history: History) -> Chat:
    """Attach every handler: the original demo and the chat; returns what the server API uses."""
    demo.register(sio)
    rooms = open_rooms(profile, sio.start_background_task, sio.sleep)
    identities = Identities(sio, profile, rooms)
    events.register(sio, profile, history, rooms, identities)
    start_retention(profile, history, sio.start_background_task, sio.sleep)
    return Chat(sio, profile, history, rooms, identities)


@dataclass(frozen=True)
class Chat:
    """The chat's parts another front (the server API, api/) acts through."""

    sio: socketio.Server
    profile: Profile
    history: History
    rooms: Rooms
    identities: Identities
