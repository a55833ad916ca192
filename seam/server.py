"""python-socketio's Server, with the gateway's answers to bad packets and broken handlers.

python-socketio raises on a Socket.IO packet it cannot decode, and lets an exception in an
event handler escape into the same place. The two are told apart here:
- a packet that does not decode (or has no event name) is answered with an ``error`` event
  ``malformed_packet``, and the connection carries on;
- an exception in a handler is a bug on our side, not a bad packet: it is logged with its
  traceback under an incident id, counted, and the client gets ``internal_error`` with that id
  (the chat's handlers answer it in their ack, chat/events.py).
New sessions are adopted into the session class the WebSocket driver needs (seam/session.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
import socketio
from socketio import packet

from chat.errors import BAD_REQUEST, INTERNAL_ERROR, MALFORMED_PACKET, ChatError, incident_id
from ops import metrics
from seam import query
from seam.fastjson import TooDeep

log = logging.getLogger("rolegate.transports")

#: Events python-socketio itself calls with its own argument conventions (it retries
#: ``connect`` without ``auth`` on a TypeError, and reads ConnectionRefusedError from it).
LIBRARY_EVENTS = frozenset(("connect", "disconnect"))
#: The event name a refused event packet is decoded to; its one argument is a ``Refusal``.
REFUSED_EVENT = "rolegate:refused"


class MalformedPacket(ValueError):
    """A Socket.IO packet from a client that does not decode, or is not of a shape we accept."""

    code = MALFORMED_PACKET


class RefusedValue(MalformedPacket):
    """A packet that decodes as far as its id, holding a value no event accepts (JSON nested too deep)."""

    code = BAD_REQUEST


class Refusal:
    """Stands in for the data of an event packet that held a refused value. Not a JSON type: a
    client cannot send one, so only the decoder can make the ``REFUSED_EVENT`` answer."""

    def __init__(self, message: str) -> None:
        self.message = message


def _holds_bytes(data: Any) -> bool:
    if isinstance(data, (bytes, bytearray)):
        return True
    if isinstance(data, list):
        for item in data:
            if _holds_bytes(item):
                return True
    elif isinstance(data, dict):
        for item in data.values():
            if _holds_bytes(item):
                return True
    return False


class CheckedPacket(packet.Packet):
    """python-socketio's packet, whose decoding failures are told apart from handler failures."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        """Whether ``data`` holds bytes anywhere, as python-socketio's answers it, for every packet
        built. Theirs builds a list per level and never stops early (2 us for a small event);
        orjson refuses bytes, so a value it encodes has none (0.2 us), and the rest is walked."""
        try:
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return _holds_bytes(data)
        return False

    def decode(self, encoded_packet: Any) -> Any:
        try:
            return super().decode(encoded_packet)
        except TooDeep as exc:
            # The type and the ack id were read before the data: an event with an ack is answered
            # bad_request in its ack, like any other refused value (GuardedServer._trigger_event).
            if self.packet_type == packet.EVENT and self.id is not None:
                self.data = [REFUSED_EVENT, Refusal(str(exc))]
                return 0
            raise RefusedValue(str(exc)) from exc
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise MalformedPacket(str(exc)) from exc


class HandlerError(Exception):
    """An event handler raised: our bug, logged with its traceback under ``incident``."""

    def __init__(self, event: str, incident: str) -> None:
        super().__init__(f"the {event!r} handler failed (incident {incident})")
        self.incident = incident


class GuardedServer(socketio.Server):
    """A Socket.IO server that answers bad packets and failed handlers, each with its own code."""

    #: The Engine.IO session class new sessions become (set by install_websocket_driver), or None.
    session_class: Any = None
    #: Called with (eio_sid, environ) when an Engine.IO session opens, and (eio_sid,) when it ends.
    _on_session_open: Callable[[str, dict], None] | None = None
    _on_session_end: Callable[[str], None] | None = None

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.packet_class = CheckedPacket  # public attribute, read by python-socketio per packet
        query.install()

    def watch_sessions(self, opened: Callable[[str, dict], None], ended: Callable[[str], None]) -> None:
        """Have ``opened(eio_sid, environ)`` and ``ended(eio_sid)`` called for every Engine.IO session.

        Engine.IO sessions, not Socket.IO connections: a client can open sessions without ever
        connecting a namespace, and those count too (transports/caps.py).
        """
        self._on_session_open = opened
        self._on_session_end = ended

    def _handle_eio_connect(self, eio_sid: str, environ: dict) -> Any:
        # python-engineio has just built the session, and not used it yet.
        if self.session_class is not None:
            self.session_class.adopt(self.eio.sockets[eio_sid])
        result = super()._handle_eio_connect(eio_sid, environ)
        if self._on_session_open is not None:
            self._on_session_open(eio_sid, environ)
        return result

    def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        # python-engineio calls this once for every session that ends, however it ends.
        try:
            super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            if self._on_session_end is not None:
                self._on_session_end(eio_sid)

    def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        # Every emit ends here, once per recipient: go to the session directly, without
        # python-engineio's send_packet and its lookup (a fan-out to 200 does this 200 times).
        session = self.eio.sockets.get(eio_sid)
        if session is None or session.closed:
            super()._send_eio_packet(eio_sid, eio_pkt)  # python-engineio's warning and cleanup
            return
        session.send(eio_pkt)

    def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        # python-socketio reads data[0] as the event name in a background task, where
        # a bad shape would only print a traceback; refuse it here, where it is answered.
        if not (isinstance(data, list) and data and isinstance(data[0], str)):
            raise MalformedPacket("an event packet carries [name, ...arguments]")
        super()._handle_event(eio_sid, namespace, id, data)

    def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if event == REFUSED_EVENT and len(args) == 2 and isinstance(args[1], Refusal):
            metrics.count_error(BAD_REQUEST)
            log.info("refused an event from sid %s: %s (%s)", args[0], args[1].message, BAD_REQUEST)
            return ChatError(BAD_REQUEST, args[1].message).to_ack()
        if event in LIBRARY_EVENTS:
            return super()._trigger_event(event, namespace, *args)
        try:
            return super()._trigger_event(event, namespace, *args)
        except Exception as exc:
            incident = incident_id()
            log.exception("the %r handler failed (incident %s)", event, incident)
            raise HandlerError(event, incident) from exc

    def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            super()._handle_eio_message(eio_sid, data)
        except HandlerError as failure:
            metrics.count_error(INTERNAL_ERROR)
            self._tell(
                eio_sid,
                INTERNAL_ERROR,
                f"the server failed; incident {failure.incident}",
                id=failure.incident,
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # MalformedPacket, and python-socketio's own refusals of a packet's type or order.
            self._binary_packet.pop(eio_sid, None)
            code = exc.code if isinstance(exc, MalformedPacket) else MALFORMED_PACKET
            log.warning("malformed Socket.IO packet from %s: %s", eio_sid, exc)
            metrics.count_error(code)
            if code == BAD_REQUEST:
                self._tell(eio_sid, code, f"refused the packet: {exc}")
            else:
                self._tell(eio_sid, code, f"could not decode the packet: {exc}")

    def _tell(self, eio_sid: str, code: str, message: str, **extra: str) -> None:
        """An ``error`` event to the client of ``eio_sid``, if it is connected to the namespace."""
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is not None:
            self.emit("error", {"code": code, "message": message, **extra}, to=sid)

    def sessions_by_transport(self) -> dict[str, int]:
        """Open Engine.IO sessions by their current transport (for /metrics)."""
        counts = {"polling": 0, "websocket": 0}
        for session in list(self.eio.sockets.values()):
            if not session.closed:
                counts["websocket" if session.upgraded else "polling"] += 1
        return counts

    def drop_all_sessions(self) -> int:
        """Drop every session's transport without a close packet, so its client reconnects; how many."""
        sessions = list(self.eio.sockets.values())
        for session in sessions:
            session.close(wait=False, abort=True)
        return len(sessions)
