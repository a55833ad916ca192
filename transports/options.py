"""The two places a profile becomes options: the server's and the browser client's.

Nothing else reads profile fields to configure Engine.IO or socket.io-client,
so the server and the page it serves always agree.
"""

from __future__ import annotations

from typing import Any

from config.profile import Profile
from seam import fastjson
from seam.queue import ObservedRedisManager
from seam.rooms import IndexedManager

SOCKETIO_PATH = "socket.io"


def server_options(profile: Profile) -> dict[str, Any]:
    """Keyword arguments for ``socketio.Server``."""
    options = {
        # Always explicit: left unset, python-socketio picks eventlet whenever it
        # is installed, which breaks every connection under gevent or gthread.
        "async_mode": profile.async_mode,
        "transports": list(profile.transports),
        "allow_upgrades": profile.offers_upgrade,
        "ping_interval": profile.ping_interval,
        "ping_timeout": profile.ping_timeout,
        "max_http_buffer_size": profile.max_message_bytes,
        # Origins are checked once, in transports.gate, before Engine.IO sees the
        # request (same origin plus the profile's list, and a 400 that names a
        # refused origin). Whatever reaches Engine.IO is allowed, so it may echo it.
        "cors_allowed_origins": "*",
        # orjson: same JSON text, a fraction of the encoding time (bench/RESULTS.md).
        "json": fastjson,
        "async_handlers": profile.async_handlers,
        "http_compression": profile.http_compression,
    }
    if profile.broadcast_queue:
        # Broadcasts (messages, presence) reach the clients of every process.
        # ObservedRedisManager: a RedisManager whose listener's hearing /readyz can check (seam/queue.py).
        options["client_manager"] = ObservedRedisManager(profile.broadcast_queue)
    else:
        # python-socketio's own manager, which finds a connection's rooms without a scan (seam/rooms.py).
        options["client_manager"] = IndexedManager()
    return options


def client_options(profile: Profile) -> dict[str, Any]:
    """Options for socket.io-client's ``io()``, served at ``/policy`` and to the page."""
    return {
        "profile": profile.name,
        "path": f"/{SOCKETIO_PATH}/",
        "transports": list(profile.transports),
        "upgrade": profile.offers_upgrade,
        # socket.io-client 4.8 never falls back from a WebSocket-first list
        # without it (see docs/decisions.md).
        "tryAllTransports": len(profile.transports) > 1,
        "pingInterval": int(profile.ping_interval * 1000),
        "pingTimeout": int(profile.ping_timeout * 1000),
        "maxPayload": profile.max_message_bytes,
        # Not a socket.io-client option: the page's text box takes no more than the server accepts.
        "maxTextLength": profile.max_text_length,
        # Not socket.io-client options either (the page replaces `auth` by its token, static/auth.js):
        # how a client signs in, `none` or `jwt`, and where the page gets a token (same site), if anywhere.
        "auth": profile.auth,
        "authTokenUrl": profile.auth_token_url,
    }
