"""The one seam to python-engineio's and python-socketio's internals.

Everything the gateway does past those libraries' public API happens in this package, and
nowhere else: the Socket.IO server subclass (seam/server.py), the Engine.IO session subclass
(seam/session.py), the WebSocket driver and its installation (seam/drivers.py,
seam/inline_ws.py), session-id stamping (seam/sids.py), the JSON codec (seam/fastjson.py),
the query parser python-engineio reads each request with (seam/query.py),
the message queue's heartbeat (seam/queue.py), the room index (seam/rooms.py)
and the checks of what the libraries' decoders would choke on (seam/packets.py).

``PRIVATE_NAMES`` lists every private or undocumented name used here, with the versions
pinned in requirements.txt; tests/unit/test_seam.py fails when a pinned version moves one.
docs/decisions.md ("One seam to the libraries") says why each is needed.
"""

from __future__ import annotations

#: (where, name, what we rely on). ``where`` is a class, or an instance made by the test.
PRIVATE_NAMES: tuple[tuple[str, str, str], ...] = (
    # python-socketio 5.18.1: socketio.Server
    ("socketio.Server", "_handle_eio_connect", "overridden: adopt a new Engine.IO session (server.py)"),
    ("socketio.Server", "_handle_eio_disconnect", "overridden: a session's end, for the session caps"),
    ("socketio.Server", "_handle_event", "overridden: refuse an event packet of the wrong shape"),
    ("socketio.Server", "_handle_eio_message", "overridden: answer bad packets and failed handlers"),
    ("socketio.Server", "_trigger_event", "overridden: tell a handler's exception from a bad packet"),
    ("socketio.Server", "_send_eio_packet", "overridden: an emit goes to the session directly"),
    ("socketio.packet.Packet", "data_is_binary", "overridden: the same answer, without a list per level"),
    ("socketio.Manager", "basic_enter_room", "overridden: the room index notes it (rooms.py)"),
    ("socketio.Manager", "basic_leave_room", "overridden: the room index notes it (rooms.py)"),
    ("socketio.Manager", "basic_disconnect", "replaced: the rooms come from the index (rooms.py)"),
    ("socketio.Manager", "get_rooms", "replaced: answered from the index (rooms.py)"),
    ("socketio.Manager()", "rooms", "read: does the namespace have rooms at all"),
    (
        "socketio.Manager()",
        "callbacks",
        "a disconnected sid's ack callbacks are dropped, as python-socketio does",
    ),
    ("socketio.Manager()", "pending_connect", "cleaned up on disconnect, as python-socketio does"),
    ("socketio.Manager()", "pending_disconnect", "cleaned up on disconnect, as python-socketio does"),
    ("socketio.Server()", "_binary_packet", "a half-received binary packet, dropped with a bad one"),
    ("socketio.Server()", "packet_class", "replaced by CheckedPacket, to tell decode errors apart"),
    ("socketio.packet.Packet", "decode", "overridden in CheckedPacket"),
    ("socketio.Server()", "manager_initialized", "set when the message queue starts with the process"),
    ("socketio.RedisManager", "_listen", "overridden: the listener notes its heartbeat (queue.py)"),
    ("socketio.RedisManager()", "pubsub", "the listener's redis-py PubSub: is it subscribed?"),
    ("socketio.RedisManager()", "redis_url", "the queue's URL, for the heartbeat's own connection"),
    # python-engineio 4.15.1: engineio.Server and its Socket
    ("engineio.Server()", "_async", "the async mode's driver table; its 'websocket' entry is replaced"),
    ("engineio.Server()", "sockets", "the session table: adoption, removal, counts, drain"),
    ("engineio.Server", "_trigger_event", "called by GatewaySocket: each message, and the disconnect event"),
    ("engineio.Server()", "reason", "disconnect reasons passed to close"),
    ("engineio.socket.Socket", "_websocket_handler", "overridden: the inline driver's read loop"),
    ("engineio.socket.Socket", "schedule_ping", "overridden: the next ping is a timer"),
    ("engineio.socket.Socket", "check_ping_timeout", "called before a direct send"),
    ("engineio.socket.Socket()", "queue", "drained once at the upgrade, then dropped"),
    ("engineio.socket.Socket()", "last_ping", "the ping schedule's state"),
    ("engineio.socket.Socket()", "upgrading", "the long-poll answers NOOP while it is set"),
    ("engineio.payload.Payload", "max_decode_packets", "the packet count a polling payload may hold"),
    ("engineio.server", "urllib", "replaced: its parse_qs by a faster one with the same answers (query.py)"),
    # simple-websocket 1.1.0: simple_websocket.ws.Base (drivers.py, taking turns)
    ("simple_websocket.ws.Base()", "input_buffer", "messages its reader holds: yield before one, hold back"),
    ("simple_websocket.ws.Base()", "thread", "its reader greenlet, joined after the gateway closed it"),
)
