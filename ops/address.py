"""Who sent a request, in words a user would recognise in a log line."""

from __future__ import annotations


def client_address(environ: dict) -> str:
    """The address a user would recognise: the first X-Forwarded-For hop, if any."""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
    return forwarded or environ.get("REMOTE_ADDR", "?")
