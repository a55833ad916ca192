"""The baseline: a plain python-socketio + Flask app, as its docs show it.

Served the way the gateway is (gunicorn, one gevent worker, the same
worker_connections), with python-socketio's defaults otherwise, so the
benchmark's ratios measure the gateway, not the configuration of the worker.
It answers the demo's ``sendMessage`` and a minimal ``join``/``message`` room
broadcast with the chat API's shapes, so the same load script drives both.

    gunicorn -c bench/baseline_gunicorn.conf.py bench.baseline:app
"""

from __future__ import annotations

import itertools
import time

import socketio
from flask import Flask

# Explicit: left unset, python-socketio picks eventlet, which is installed (stack-facts).
sio = socketio.Server(async_mode="gevent")
flask_app = Flask(__name__)
app = socketio.WSGIApp(sio, flask_app)
_ids = itertools.count(1)


@flask_app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok", "profile": "baseline"}


@sio.on("sendMessage")
def send_message(sid: str, data: object = None) -> None:
    sio.emit("helloBack", {"message": "Hello back!"}, to=sid)


@sio.on("join")
def join(sid: str, data: dict) -> dict:
    sio.enter_room(sid, data["room"])
    return {"ok": True, "room": data["room"], "members": [], "history": [], "truncated": False}


@sio.on("message")
def message(sid: str, data: dict) -> dict:
    sent = {"id": next(_ids), "room": data["room"], "name": sid, "text": data["text"], "ts": time.time()}
    sio.emit("message", {**sent, "client_id": data.get("client_id")}, room=data["room"])
    return {"ok": True, "id": sent["id"], "ts": sent["ts"]}
