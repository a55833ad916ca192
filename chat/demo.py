"""The original demo: ``sendMessage`` is answered to the sender with ``helloBack``."""

from __future__ import annotations

import logging

import socketio

from ops import metrics

log = logging.getLogger("rolegate.chat")

HELLO_BACK = {"message": "Hello back!"}


def register(sio: socketio.Server) -> None:
    """Attach the demo handler to ``sio``."""

    @sio.on("sendMessage")
    def send_message(sid: str, *args: object) -> None:  # any arguments: the demo ignores them
        if log.isEnabledFor(logging.DEBUG):  # the transport lookup is not free
            log.debug("user sid %s sent sendMessage over %s", sid, sio.transport(sid))
        metrics.count_event("sendMessage")
        sio.emit("helloBack", HELLO_BACK, to=sid)
