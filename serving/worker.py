"""gunicorn's gevent worker on gevent's pywsgi, made right for WebSockets and cheap per request.

gunicorn's plain ``gevent`` worker parses HTTP in Python (gunicorn.http): that parsing was
the largest share of long-polling time under py-spy. Its ``gevent_pywsgi`` worker uses
gevent's parser instead; serving/handler.py makes its handler hand WebSockets over right,
and no access-log record is built when no access log is configured. bench/RESULTS.md has
the figures.
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler

from serving.handler import WebSocketHandover
from serving.turns import OneRequestPerTurn


class Handler(OneRequestPerTurn, WebSocketHandover, PyWSGIHandler):
    """gunicorn's pywsgi handler, handing a WebSocket request's socket itself to the driver."""


class QuietHandler(Handler):
    """Without an access log, gunicorn's handler still built a record per request (2.5% of polling)."""

    def log_request(self) -> None:
        pass


class Worker(GeventPyWSGIWorker):
    """What ``async_mode = "gevent"`` runs under gunicorn (gunicorn.conf.py)."""

    wsgi_handler = Handler

    def init_process(self) -> None:
        if not self.cfg.accesslog:
            self.wsgi_handler = QuietHandler
        super().init_process()
