"""gunicorn settings taken from the profile, so the Procfile line stays short.

One worker process: every request of a long-polling session must reach the
process that holds it (scaling out across processes is the message queue's job).
"""

from config import load_profile_or_exit
from config.loading import exit_with
from config.settings import ConfigError
from ops.logs import ACCESS_FORMAT, logging_config
from serving.process import GRACEFUL_TIMEOUT, bind_address, gunicorn_worker, raise_open_files_limit

_profile = load_profile_or_exit()
try:
    worker_class = gunicorn_worker(_profile)
except ConfigError as error:
    exit_with(error)

_host, _port = bind_address()
bind = f"{_host}:{_port}"
workers = 1
# Far above gunicorn's default of 1000, past which a gevent worker silently stops accepting.
worker_connections = _profile.worker_connections
# Each connection holds a descriptor: 10,000 idle WebSockets need more than a 1024 soft limit.
raise_open_files_limit()
# gthread: each long-poll holds a thread and a client keeps two requests in flight.
threads = _profile.threads
# Long-polls are held up to ping_interval; the worker heartbeat must outlast that.
timeout = int(_profile.ping_interval + _profile.ping_timeout) + 30
# SIGTERM drains every session first (ops/shutdown.py), so the worker is normally done in about 1 s;
# 10 s stays inside the grace period of Heroku and Kubernetes (30 s).
graceful_timeout = GRACEFUL_TIMEOUT
# Every line, gunicorn's included, in the profile's log_format (ops/logs.py); access_log = on adds
# one line per request. Without an access log the worker builds no access record (serving/worker.py).
logconfig_dict = logging_config(_profile)
accesslog = "-" if _profile.access_log == "on" else None
access_log_format = ACCESS_FORMAT
# gunicorn 27 opens a control socket under ~/.gunicorn by default; the gateway needs none.
control_socket_disable = True
# The gateway's ProxyFix alone reads X-Forwarded-Proto, for GATEWAY_PROXY_HOPS hops (ops/address.py):
# gunicorn's gthread worker would otherwise believe it from any client on 127.0.0.1, whatever the hops.
secure_scheme_headers: dict[str, str] = {}


def post_worker_init(worker) -> None:  # noqa: ANN001 (gunicorn's worker)
    """SIGTERM drains every session before gunicorn's graceful stop (ops/shutdown.py).

    Runs in the worker after gunicorn installed its own SIGTERM handler, which is kept and chained.
    """
    from ops.shutdown import drain_on_sigterm

    drain_on_sigterm(worker.wsgi.extensions["socketio"])
