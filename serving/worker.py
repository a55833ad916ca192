"""gunicorn's gevent worker on gevent's pywsgi, made right for WebSockets and cheap per request.

gunicorn's plain ``gevent`` worker parses HTTP in Python (gunicorn.http): that parsing was
the largest share of long-polling time under py-spy. Its ``gevent_pywsgi`` worker uses
gevent's parser instead; serving/handler.py makes its handler hand WebSockets over right
and keeps connections in check, serving/accepting.py backs off when descriptors run out,
and no access-log record is built when no access log is configured. bench/RESULTS.md has
the figures.
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

from serving.accepting import AcceptBackoff
from serving.handler import configured, gateway_handler
from serving.shallow import ShallowServer

Handler = gateway_handler(
    PyWSGIHandler, "gunicorn's pywsgi handler, handing a WebSocket request's socket itself to the driver."
)


class QuietHandler(Handler):
    """Without an access log, gunicorn's handler still built a record per request (2.5% of polling)."""

    def log_request(self) -> None:
        pass


class Server(ShallowServer, AcceptBackoff, PyWSGIServer):
    """gunicorn's pywsgi server, backing off quietly when file descriptors run out, with a shallow
    C stack under each connection (serving/shallow.py)."""


class Worker(GeventPyWSGIWorker):
    """What ``async_mode = "gevent"`` runs under gunicorn (gunicorn.conf.py)."""

    server_class = Server
    wsgi_handler = Handler

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # The profile the app was built with is the one source of the connection timeouts.
        handler = Handler if self.cfg.accesslog else QuietHandler
        self.wsgi_handler = configured(handler, self.profile())

    def profile(self):  # noqa: ANN201 (config.profile.Profile)
        found = getattr(self.wsgi, "config", {}).get("PROFILE")
        if found is None:
            from config import load_profile_or_exit

            found = load_profile_or_exit()
        return found
