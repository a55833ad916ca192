"""The gateway: ``create_app()`` builds it; nothing is built when this module is imported.

- gunicorn (the Procfile's ``app:app``) and ``python app.py`` build the app for the profile
  in the environment (``GATEWAY_PROFILE`` and ``GATEWAY_*``), the first time ``app`` is asked for.
- Tests and embedding applications call ``create_app({"profile": "web-role", ...})`` with a
  mapping of settings, as Flask's tutorial does (``create_app(test_config)``).
``python app.py`` serves without gunicorn (Windows/IIS hosts, eventlet): ``rolegate serve``.
"""

from __future__ import annotations

if __name__ == "__main__":
    # ``python app.py`` does what ``rolegate serve`` does (deploy/iis/web.config runs it). Green
    # threads must patch the standard library before Flask and friends import it: this runs first.
    from config import load_profile_or_exit
    from serving.process import monkey_patch

    monkey_patch(load_profile_or_exit().async_mode)

import logging  # noqa: E402 (after the __main__ block above)
from collections.abc import Mapping
from typing import Any

import socketio
from flask import Flask

import api
import chat
import page
from chat.stores import describe, open_history
from config import ConfigError, Profile, load_profile, load_profile_or_exit
from config.loading import exit_with
from ops import admin_ui, routes
from ops.address import behind_proxies
from seam.drivers import install_websocket_driver
from seam.queue import start_message_queue
from seam.server import GuardedServer
from seam.sids import stamp_session_ids
from serving.process import tune_green_threads
from serving.shallow import direct_call
from transports.caps import SessionCaps
from transports.gate import TransportGate
from transports.options import SOCKETIO_PATH, server_options

log = logging.getLogger("rolegate")


def setup_logging(profile: Profile) -> None:
    """Logs on stderr in the profile's ``log_format``, unless gunicorn or a host configured them."""
    from ops import logs

    logs.configure(profile)


def create_app(config: Profile | Mapping[str, Any] | str | None = None) -> Flask:
    """Build the Flask app with the Socket.IO server mounted in front of it.

    ``config`` is a Profile; a profile name; a mapping of settings with an optional
    ``"profile"`` key (``{"profile": "web-role", "database_url": "sqlite:////tmp/t.db"}``),
    applied over that profile and the environment; or None for the environment alone.
    The returned Flask app's ``wsgi_app`` is the whole gateway; the Socket.IO server is at
    ``app.extensions['socketio']``.
    """
    profile = resolve_profile(config)
    setup_logging(profile)
    tune_green_threads(profile)

    flask_app = Flask(__name__)
    flask_app.config["PROFILE"] = profile
    sio = GuardedServer(**server_options(profile))
    if profile.instance_tag:
        stamp_session_ids(sio.eio, profile.instance_tag)
    install_websocket_driver(sio, profile)
    history = open_history(profile)
    chat_parts = chat.register(sio, profile, history)
    flask_app.extensions["socketio"] = sio
    flask_app.extensions["history"] = history
    flask_app.extensions["message_queue"] = start_message_queue(sio)  # None without one

    page.register(flask_app, profile)
    routes.register(flask_app, profile, sio)
    api.register(flask_app, chat_parts)  # /api/ for the application's backend (on with api_key)
    admin_ui.register(flask_app, profile, sio)

    sessions = SessionCaps(profile)
    sio.watch_sessions(sessions.opened, sessions.closed)
    engineio_app = socketio.WSGIApp(sio, flask_app.wsgi_app, socketio_path=SOCKETIO_PATH)
    # ProxyFix outermost: the gate's host and origin checks, Engine.IO and Flask all see the
    # client's address and scheme as the trusted proxies gave them, never a client's own claim.
    # Each layer is called as a bound method (direct_call): a WebSocket stays parked under all of
    # them, and a layer called as an instance keeps 0.75 KiB more of C stack (serving/shallow.py).
    gate = TransportGate(direct_call(engineio_app), profile, SOCKETIO_PATH, sessions)
    flask_app.wsgi_app = behind_proxies(direct_call(gate), profile.proxy_hops)
    log.info("%s", profile.summary())
    for warning in profile.warnings():
        log.warning("%s", warning)
    log.info("chat history kept in %s", describe(profile))
    return flask_app


def resolve_profile(config: Profile | Mapping[str, Any] | str | None) -> Profile:
    """The Profile ``create_app`` was given, named, or described by a mapping."""
    if isinstance(config, Profile):
        return config
    if isinstance(config, Mapping):
        settings = dict(config)
        return load_profile(settings.pop("profile", None), settings=settings)
    return load_profile(config)


def create_app_or_exit(config: Profile | Mapping[str, Any] | str | None = None) -> Flask:
    """For start-up: a bad configuration, or a store that cannot be opened, is said in one line."""
    try:
        return create_app(config)
    except ConfigError as error:
        exit_with(error)


def __getattr__(name: str) -> Flask:
    """``app:app`` (the Procfile's gunicorn line): built on first use, for the environment's profile."""
    if name != "app":
        raise AttributeError(name)
    global app
    app = create_app_or_exit(load_profile_or_exit())
    return app


if __name__ == "__main__":
    from serving.standalone import serve_forever

    _profile = load_profile_or_exit()
    serve_forever(create_app_or_exit(_profile), _profile)
