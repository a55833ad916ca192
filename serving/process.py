"""What a serving process sets up before it serves: green threads, open files, address, worker class.

Shared by gunicorn (gunicorn.conf.py, the Procfile) and ``rolegate serve``/``python app.py``
(serving/standalone.py).
"""

from __future__ import annotations

import logging
import os

from config.profile import Profile
from config.settings import ConfigError

log = logging.getLogger("rolegate")

#: Seconds a stopping server waits for requests still in flight (gunicorn's graceful_timeout too).
GRACEFUL_TIMEOUT = 10

#: async mode -> gunicorn worker class; eventlet has none since gunicorn 26.
GUNICORN_WORKERS = {"gevent": "serving.worker.Worker", "threading": "gthread"}


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
