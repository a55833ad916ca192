"""Session ids that say which process issued them, for cookie-less sticky routing.

Every request of a long-polling session must reach the process that holds it.
Cookies (ARR affinity, AWSALB) do that for browsers only; a tag in the sid works
for any client and any proxy that can read the query string: nginx maps the
``sid`` argument's tag to that process (deploy/nginx/sticky-sid.conf).
"""

from __future__ import annotations

from collections.abc import Callable

#: Between the tag and python-engineio's id: '.' is never in its URL-safe base64.
SEPARATOR = "."


def stamp_session_ids(engineio_server: object, tag: str) -> None:
    """Make ``engineio_server.generate_id`` return ``<tag>.<its usual id>``."""
    plain: Callable[[], str] = engineio_server.generate_id  # type: ignore[attr-defined]

    def generate_id() -> str:
        return f"{tag}{SEPARATOR}{plain()}"

    engineio_server.generate_id = generate_id  # type: ignore[attr-defined]


def instance_of(sid: str) -> str | None:
    """The tag a sid carries, if any."""
    tag, separator, _ = sid.partition(SEPARATOR)
    return tag if separator else None
