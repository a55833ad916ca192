"""``rolegate serve`` and ``python app.py``: the gateway without gunicorn.

gunicorn 26+ has no eventlet worker, and gunicorn does not run on Windows, so this is
the path for IIS hosts (deploy/iis/web.config) and for eventlet: the same app on
gevent's or eventlet's production WSGI server.
"""

from __future__ import annotations

import logging
import signal

from config.profile import Profile
from config.settings import ConfigError
from serving.process import GRACEFUL_TIMEOUT, bind_address

log = logging.getLogger("rolegate")


def serve_forever(app, profile: Profile) -> None:  # noqa: ANN001 (any WSGI app)
    """Run ``app`` on the production WSGI server that matches the async mode."""
    host, port = bind_address()
    if profile.async_mode == "gevent":
        from gevent.pool import Pool
        from gevent.pywsgi import WSGIServer

        from serving.accepting import AcceptBackoff
        from serving.handler import standalone_handler
        from serving.shallow import ShallowServer

        class Server(ShallowServer, AcceptBackoff, WSGIServer):
            pass

        log.info("serving on http://%s:%d with gevent's pywsgi", host, port)
        server = Server(
            (host, port),
            app,
            spawn=Pool(profile.worker_connections),
            handler_class=standalone_handler(profile),
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
