"""The original demo: ``sendMessage`` answered with ``helloBack``, plus connection logs."""

from __future__ import annotations

import logging

import socketio

from transports.gate import client_address

log = logging.getLogger("rolegate.chat")

HELLO_BACK = {"message": "Hello back!"}


def register(sio: socketio.Server) -> None:
    """Attach the demo handlers and the per-connection logs to ``sio``."""

    @sio.event
    def connect(sid: str, environ: dict, auth: object = None) -> None:
        log.info("user connected: sid %s over %s from %s", sid, sio.transport(sid), client_address(environ))

    @sio.event
    def disconnect(sid: str, reason: str = "") -> None:
        log.info("user disconnected: sid %s (%s)", sid, reason or "gone")

    @sio.on("sendMessage")
    def send_message(sid: str, data: object = None) -> None:
        log.info("user sid %s sent sendMessage over %s", sid, sio.transport(sid))
        sio.emit("helloBack", HELLO_BACK, to=sid)
