"""An Engine.IO session that sends on its WebSocket at once and keeps no green thread parked.

python-engineio's ``Socket`` puts every packet on a per-session queue for a writer green
thread, and keeps that writer, the queue and a green thread asleep until the next ping for
every idle session: about 8 KiB of the 49.6 KiB an idle WebSocket cost. Its driver's socket
timeout made gevent arm a timer around every read: 10% of WebSocket time. (The hand-off to
the writer itself cost nothing measurable; bench/RESULTS.md has the A/B.)

``GatewaySocket`` changes three things and keeps the rest of python-engineio's behaviour:
- once a session is on the inline WebSocket (seam/inline_ws.py), ``send`` writes the
  frame from the sender's own green thread. That write never blocks: what the socket does
  not take at once waits in the connection's backlog, in order, so a slow receiver delays
  nobody (one that falls 8 MiB behind is dropped, seam/inline_ws.py). There is no
  writer green thread, and the queue is dropped after the upgrade;
- the next ping is a timer of gevent's loop that spawns a green thread when it is due, rather
  than a green thread sleeping with its stack saved (or a Greenlet object waiting to start);
- reads on the WebSocket have no socket timeout (see ``_websocket_handler``).
Polling sessions, and WebSockets on simple-websocket, still use the queue as before.

gevent only: the inline driver is gevent-only, and so is the ping's timer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from engineio import exceptions, packet
from engineio.socket import Socket

from rfc6455.connection import InlineWebSocket, message_frame

#: The attribute of an Engine.IO packet that keeps its WebSocket frame once it is built.
FRAME_CACHE = "rolegate_frame"


class GatewaySocket(Socket):
    """python-engineio's session, with direct WebSocket sends and a timer for pings.

    python-engineio builds its ``Socket`` by name, so ``adopt`` turns a new session into
    this class before it is used; it adds no state of its own beyond ``_direct``.
    """

    #: The inline WebSocket this session sends on directly, once it is upgraded.
    _direct: InlineWebSocket | None = None

    @classmethod
    def adopt(cls, session: Socket) -> None:
        """Make a session python-engineio has just built into a GatewaySocket."""
        if type(session) is Socket:
            session.__class__ = cls

    def send(self, pkt: packet.Packet) -> None:
        connection = self._direct
        if connection is None:
            return super().send(pkt)
        if self.closed:
            raise exceptions.SocketIsClosedError()
        # python-engineio's check_ping_timeout, called only when a ping is out (once per recipient
        # of every broadcast otherwise).
        if self.last_ping and not self.check_ping_timeout():
            return None
        # A broadcast hands every recipient the same packet: frame it once (as python-engineio
        # caches its encoding), not once per recipient.
        data = getattr(pkt, FRAME_CACHE, None)
        if data is None:
            data = message_frame(pkt.encode())
            setattr(pkt, FRAME_CACHE, data)
        # Not contextlib.suppress: its two calls per message showed in py-spy (2.7%).
        try:  # noqa: SIM105
            connection.send_frame(data)
        except OSError:
            pass  # the client is gone: the reader sees it and closes
        return None

    def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        connection = self._direct
        if connection is None:
            return super().close(wait=wait, abort=abort, reason=reason)
        if self.closed or self.closing:
            return None
        self.closing = True
        self.server._trigger_event(
            "disconnect", self.sid, reason or self.server.reason.SERVER_DISCONNECT, run_async=False
        )
        if not abort:
            self.send(packet.Packet(packet.CLOSE))
        self.closed = True
        connection.close()  # the close frame follows what is queued; the reader then ends
        return None

    def schedule_ping(self) -> None:
        # As python-engineio: only once the last ping was answered (last_ping is then set).
        if self.last_ping:
            self.last_ping = None
            # A bare timer until the ping is due, and a greenlet only to send it (it may block):
            # spawn_later's Greenlet, waiting the whole interval, was 0.77 KiB per idle session.
            timer = gevent.get_hub().loop.timer(self.server.ping_interval)
            timer.start(gevent.spawn, self._ping_now)

    def _ping_now(self) -> None:
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.send(packet.Packet(packet.PING))

    def _websocket_handler(self, ws: Any) -> list:
        connection = getattr(ws, "ws", None)
        if not isinstance(connection, InlineWebSocket):
            return super()._websocket_handler(ws)
        # Until the session is on this WebSocket, a client that sends nothing is timed out here.
        connection._sock.settimeout(self.server.ping_interval + self.server.ping_timeout)
        upgrading = self.connected  # a session that began on polling; else it begins here
        if upgrading and not self._upgrade(ws):
            return []
        self.connected = True
        self.upgraded = True
        self._go_direct(connection, upgrading)
        # From here no socket timeout: gevent would arm a timer around every read that waits
        # (10% of WebSocket time under py-spy). A client that vanished is still found:
        # python-engineio's service task closes a session whose ping goes unanswered, and
        # the close wakes the reader (tests/test_sessions.py).
        connection._sock.settimeout(None)
        server = self.server
        server.logger.info("%s: Upgrade to websocket successful", self.sid)
        # python-engineio's receive() builds a Packet, tries the text as JSON and logs it before
        # it hands a message on; a Socket.IO packet (a digit after the "4") skips all three,
        # unless python-engineio's log is on, which then shows it as before.
        direct = not server.logger.isEnabledFor(logging.INFO)
        while not self.closed:
            data = ws.wait()
            # None: closed by the client, or refused by the driver or guard. The driver already
            # closed a message over max_message_bytes (python-engineio's max_http_buffer_size)
            # with 1009, so python-engineio's own size check would never fire here.
            if data is None:
                break
            try:
                if direct and data.__class__ is str and data[:1] == "4" and data[1:2].isnumeric():
                    server._trigger_event("message", self.sid, data[1:], run_async=server.async_handlers)
                    continue
                self.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                break
            except Exception:  # as python-engineio: log it, end this connection only
                self.server.logger.exception("Unknown receive error")
                break
        self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        # python-engineio removes a closed session after its handler returns, but the driver ends
        # the request with StopIteration (seam/inline_ws.py), so that code never runs.
        self.server.sockets.pop(self.sid, None)
        return []

    def _upgrade(self, ws: Any) -> bool:
        """python-engineio's probe exchange for a session that began on polling."""
        self.upgrading = True  # the long-poll answers NOOP from now on
        try:
            probe = ws.wait()
            pkt = packet.Packet(encoded_packet=probe) if probe else None
            if pkt is None or pkt.packet_type != packet.PING or pkt.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                return False
            ws.send(packet.Packet(packet.PONG, data="probe").encode())
            self.queue.put(packet.Packet(packet.NOOP))  # ends the long-poll in flight
            confirm = ws.wait()
            pkt = packet.Packet(encoded_packet=confirm) if confirm else None
            if pkt is None or pkt.packet_type != packet.UPGRADE:
                self.server.logger.info(
                    "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
                    self.sid,
                    confirm,
                )
                return False
            return True
        finally:
            self.upgrading = False

    def _go_direct(self, connection: InlineWebSocket, upgraded: bool) -> None:
        """Send what is queued (the OPEN packet, or what came during the upgrade), then go direct."""
        if upgraded:
            # Let gevent hand the NOOP from _upgrade to a long-poll parked on the queue first: it
            # is delivered by a hub callback, and a client that sent "5" with its probe gets here
            # before that runs. Taken here instead, the long-poll hung until it timed out and its
            # timeout closed the session. (python-engineio's writer started later, after that
            # callback.) A session that begins on its WebSocket has no long-poll: no switch.
            gevent.sleep(0)
        if self.closing or self.closed:
            # A close began before the upgrade ended; it finishes on the queue. The close frame
            # (and its timer) wakes this connection's reader.
            connection.close()
            return
        queue = self.queue
        try:
            while not queue.empty():
                pkt = queue.get_nowait()
                queue.task_done()
                if pkt is None:  # closed meanwhile
                    connection.close()
                    return
                connection.send(pkt.encode())
        except OSError:
            pass  # the client is gone: the reader sees it and closes the session
        self._direct = connection
        self.queue = None  # not used again: sends go to the connection
