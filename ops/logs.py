"""Every log line in one format: gunicorn's, ours, python-engineio's and python-socketio's.

``log_format`` picks ``text`` (one readable line) or ``json`` (one JSON object a line, through
python-json-logger) with the fields ``ts``, ``level``, ``logger``, ``msg``, plus whatever a call
passes as ``extra=`` (``sid``, ``transport``, ``address``, ``code``). ``access_log = on`` adds one
line per HTTP request (gunicorn's access log) with its status and duration.

``logging_config(profile)`` is a ``logging.config.dictConfig`` mapping: gunicorn takes it as
``logconfig_dict`` (gunicorn.conf.py), so gunicorn's own lines use it from the master on;
``configure(profile)`` applies it where no host configured logging (``python app.py``, tests).
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

#: The loggers whose lines we format: ours, the two libraries', gunicorn's error and access logs.
OURS = "rolegate"
LIBRARIES = ("engineio.server", "socketio.server", "socketio")
GUNICORN_ERROR = "gunicorn.error"
GUNICORN_ACCESS = "gunicorn.access"

TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
#: One access line: address, request line, status, bytes, duration. A long-poll reads as a
#: ``GET /socket.io/?...transport=polling...`` held for about ping_interval seconds.
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'


class JsonFormatter(_JsonFormatter):
    """python-json-logger, with the field names an operator greps for: ts, level, logger, msg."""

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict) -> None:
        log_record["ts"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        log_record["level"] = record.levelname.lower()
        log_record["logger"] = record.name
        log_record["msg"] = record.getMessage()
        super().add_fields(log_record, record, message_dict)
        log_record.pop("message", None)


class AccessFields(logging.Filter):
    """gunicorn passes an access line's values as one dict argument: lift the useful ones into fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else None
        if atoms is not None:
            record.address = atoms.get("h")
            record.method = atoms.get("m")
            record.path = atoms.get("U")
            record.query = atoms.get("q") or ""
            try:
                record.status = int(atoms.get("s"))
            except (TypeError, ValueError):
                record.status = atoms.get("s")
            record.duration_ms = atoms.get("M")
            record.bytes = atoms.get("B")
        return True


def _level(name: str) -> str:
    return name.upper()


def logging_config(profile: Any, *, gunicorn: bool = True) -> dict[str, Any]:
    """The dictConfig for ``profile``'s ``log_format``, ``log_level`` and ``access_log``."""
    formatter: dict[str, Any]
    if profile.log_format == "json":
        formatter = {"()": f"{__name__}.JsonFormatter", "json_ensure_ascii": False}
    else:
        formatter = {"format": TEXT_FORMAT}
    level = _level(profile.log_level)
    # The libraries' INFO lines are per packet; their warnings and errors ("Invalid session") are kept.
    library_level = "ERROR" if profile.log_level == "error" else "WARNING"
    stream = {"class": "logging.StreamHandler", "formatter": "rolegate", "stream": "ext://sys.stderr"}
    loggers: dict[str, Any] = {
        OURS: {"level": level, "handlers": ["stderr"], "propagate": False},
        **{name: {"level": library_level, "handlers": ["stderr"], "propagate": False} for name in LIBRARIES},
    }
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"rolegate": formatter},
        "filters": {"access_fields": {"()": f"{__name__}.AccessFields"}},
        "handlers": {
            "stderr": stream,
            "access": {**stream, "filters": ["access_fields"]},
        },
        "loggers": loggers,
    }
    if gunicorn:
        loggers[GUNICORN_ERROR] = {"level": level, "handlers": ["stderr"], "propagate": False}
        loggers[GUNICORN_ACCESS] = {
            "level": "INFO" if profile.access_log == "on" else "WARNING",
            "handlers": ["access"],
            "propagate": False,
        }
        # Whatever else logs (gevent, redis, a host's own code) comes out in the same format.
        config["root"] = {"level": "WARNING", "handlers": ["stderr"]}
    return config


def configure(profile: Any) -> None:
    """Apply the profile's log format where nothing configured our logger yet (not under gunicorn)."""
    # No record asks which thread or multiprocessing process it came from: no format here shows
    # them, and under gevent threading.current_thread() builds a dummy Thread for every green
    # thread that logs (each connection's "user connected"): 4% of a reconnect storm's CPU.
    logging.logThreads = False
    logging.logMultiprocessing = False
    ours = logging.getLogger(OURS)
    if not ours.handlers:
        logging.config.dictConfig(logging_config(profile, gunicorn=False))
    ours.setLevel(_level(profile.log_level))
