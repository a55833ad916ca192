"""How each async mode is served: by gunicorn (Procfile) or by ``python app.py``.

gunicorn 26+ has no eventlet worker, and gunicorn does not run on Windows, so
``python app.py`` is the path for IIS hosts and for eventlet.
"""

from __future__ import annotations

import logging
import os
import signal

from config.profile import Profile
from config.settings import ConfigError

log = logging.getLogger("rolegate")

#: Seconds a stopping server waits for requests still in flight (gunicorn's graceful_timeout too).
GRACEFUL_TIMEOUT = 10

#: async mode -> gunicorn worker class; eventlet has none since gunicorn 26.
GUNICORN_WORKERS = {"gevent": "transports.worker.Worker", "threading": "gthread"}


def bind_address() -> tuple[str, int]:
    """``HOST``/``PORT`` as a PaaS sets them; all interfaces by default."""
    return os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "5000"))


def raise_open_files_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit, returned: every connection holds a descriptor.

    Many hosts start processes with a soft limit of 1024, far under ``worker_connections``;
    the worker (and anything else started from this process) inherits the raised limit.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def gunicorn_worker(profile: Profile) -> str:
    if profile.async_mode not in GUNICORN_WORKERS:
        raise ConfigError(
            f"async mode {profile.async_mode!r} cannot run under gunicorn (gunicorn 26 and later "
            f"have no eventlet worker); start it with `python app.py`, or set GATEWAY_ASYNC_MODE "
            f"to one of: {', '.join(GUNICORN_WORKERS)}"
        )
    return GUNICORN_WORKERS[profile.async_mode]


def monkey_patch(async_mode: str) -> None:
    """Patch the standard library for green threads, before anything opens a socket."""
    if async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif async_mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()


def tune_green_threads(profile: Profile) -> None:
    """Settings of the green-thread library that cost memory per connection and buy nothing here.

    gevent records the spawning stack of every greenlet (for debugging) by default: about 5 KiB
    of RSS per idle WebSocket, which parks four greenlets (bench/RESULTS.md).
    """
    if profile.async_mode == "gevent":
        import gevent

        gevent.config.track_greenlet_tree = False


def serve_forever(app, profile: Profile) -> None:  # noqa: ANN001 (any WSGI app)
    """Run ``app`` on the production WSGI server that matches the async mode."""
    host, port = bind_address()
    if profile.async_mode == "gevent":
        from gevent.pool import Pool
        from gevent.pywsgi import WSGIServer

        log.info("serving on http://%s:%d with gevent's pywsgi", host, port)
        server = WSGIServer(
            (host, port),
            app,
            spawn=Pool(profile.worker_connections),
            handler_class=_gevent_websocket_handler(),
            log=None,
        )
        _drain_then_stop_on_sigterm(app, server)
        server.serve_forever()
    elif profile.async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        log.warning(
            "serving on http://%s:%d with eventlet: supported through `python app.py` only; "
            "eventlet's maintainers discourage new use, prefer GATEWAY_ASYNC_MODE=gevent",
            host,
            port,
        )
        sock = eventlet.listen((host, port))
        eventlet.wsgi.server(sock, app, max_size=profile.worker_connections, log_output=False)
    else:
        raise ConfigError(
            "async mode 'threading' is served by gunicorn's gthread worker: run "
            "`gunicorn -c gunicorn.conf.py app:app` (the Procfile line), or use GATEWAY_ASYNC_MODE=gevent "
            "with `python app.py`"
        )


def _drain_then_stop_on_sigterm(app, server) -> None:  # noqa: ANN001 (Flask app, gevent server)
    """SIGTERM: send every client elsewhere (ops.shutdown), then stop within the grace period."""
    import gevent

    from ops.shutdown import drain

    def drain_then_stop() -> None:
        drain(app.extensions["socketio"])
        server.stop(timeout=GRACEFUL_TIMEOUT)

    gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(drain_then_stop))


def _gevent_websocket_handler() -> type:
    """pywsgi's handler, made to close the socket once a WebSocket ends.

    simple-websocket writes the WebSocket bytes itself and returns no HTTP
    response; plain pywsgi then keeps the connection alive and parses the
    leftover frames as a next request ("Invalid HTTP method"), which stalled
    disconnects by seconds.
    """
    from gevent.pywsgi import WSGIHandler

    class Handler(WSGIHandler):
        def run_application(self) -> None:
            if self.environ.get("HTTP_UPGRADE", "").lower() != "websocket":
                return super().run_application()
            try:
                super().run_application()  # a refusal by the gate is an ordinary response
            except StopIteration:
                pass  # the WebSocket was the response (transports/inline_ws.py)
            finally:
                self.close_connection = True

    return Handler
