"""The gateway: ``create_app()`` builds it, ``app`` is what gunicorn serves.

``python app.py`` serves the same app without gunicorn (Windows/IIS hosts,
and eventlet), on gevent's or eventlet's production WSGI server.
"""

if __name__ == "__main__":
    # Green threads must patch the standard library before Flask and friends import it.
    from config import load_profile_or_exit
    from transports.serving import monkey_patch

    monkey_patch(load_profile_or_exit().async_mode)

import logging  # noqa: E402

import socketio  # noqa: E402
from flask import Flask, Response, jsonify, request  # noqa: E402

import chat  # noqa: E402
from chat.history import describe, open_history  # noqa: E402
from config import ConfigError, Profile, load_profile, load_profile_or_exit  # noqa: E402
from config.loading import exit_with  # noqa: E402
from config.options import SOCKETIO_PATH, client_options, server_options  # noqa: E402
from ops import metrics  # noqa: E402
from page import register as register_page  # noqa: E402
from transports.gate import TransportGate  # noqa: E402
from transports.guard import GuardedServer, guard_websockets  # noqa: E402
from transports.serving import tune_green_threads  # noqa: E402
from transports.sticky import stamp_session_ids  # noqa: E402

log = logging.getLogger("rolegate")


def setup_logging(level: str) -> None:
    """Readable logs on stderr (gunicorn's error log) unless a host configured logging."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())


def create_app(profile: Profile | str | None = None) -> Flask:
    """Build the Flask app with the Socket.IO server mounted in front of it.

    ``profile`` is a Profile, a profile name, or None for ``GATEWAY_PROFILE``.
    The returned Flask app's ``wsgi_app`` is the whole gateway; the Socket.IO
    server is at ``app.extensions['socketio']``.
    """
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    setup_logging(profile.log_level)
    tune_green_threads(profile)

    flask_app = Flask(__name__)
    flask_app.config["PROFILE"] = profile
    sio = GuardedServer(**server_options(profile))
    if profile.instance_tag:
        stamp_session_ids(sio.eio, profile.instance_tag)
    guard_websockets(sio, profile)
    history = open_history(profile.database_url, profile.async_mode)
    chat.register(sio, profile, history)
    flask_app.extensions["socketio"] = sio
    flask_app.extensions["history"] = history

    register_page(flask_app, profile)

    @flask_app.get("/healthz")
    def healthz():  # noqa: ANN202
        return jsonify(status="ok", profile=profile.name, transports=list(profile.transports))

    @flask_app.get("/metrics")
    def prometheus_metrics() -> Response:
        if not metrics.authorized(request.headers.get("Authorization", ""), profile.metrics_token):
            return Response(
                "GET /metrics needs Authorization: Bearer <GATEWAY_METRICS_TOKEN>\n",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                content_type="text/plain; charset=utf-8",
            )
        accept = request.headers.get("Accept", "")
        body, content_type = metrics.exposition(sio.eio, profile.name, profile.instance_tag, accept)
        return Response(body, content_type=content_type)

    @flask_app.get("/policy")
    def policy():  # noqa: ANN202
        return jsonify(client_options(profile))

    engineio_app = socketio.WSGIApp(sio, flask_app.wsgi_app, socketio_path=SOCKETIO_PATH)
    flask_app.wsgi_app = TransportGate(engineio_app, profile, SOCKETIO_PATH)
    log.info("%s", profile.summary())
    log.info("chat history kept in %s", describe(profile.database_url))
    return flask_app


def create_app_or_exit(profile: Profile) -> Flask:
    """For start-up: a store that cannot be opened is a configuration error, said in one line."""
    try:
        return create_app(profile)
    except ConfigError as error:
        exit_with(error)


if __name__ == "__main__":
    from transports.serving import serve_forever

    profile = load_profile_or_exit()
    serve_forever(create_app_or_exit(profile), profile)
else:
    app = create_app_or_exit(load_profile_or_exit())
