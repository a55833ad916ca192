"""The Socket.IO Admin UI at ``/admin/``, served from this gateway's own origin, when ``admin_ui`` is on.

The UI (npm ``@socket.io/admin-ui``'s ``ui/dist``, pinned in ``package.json``) is served from
``node_modules`` like the page's client bundle, so intranet and IIS hosts need no outside site. It
connects back over the gateway's own ``/socket.io/`` path to the namespace ``/admin``: through the same
gate, so the profile's origins and transports apply to it as to the page. python-socketio's public
``Server.instrument`` does the reporting; ``admin_mode`` says whether the UI may change anything.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

from flask import Flask, Response, redirect, send_from_directory

from config.profile import Profile

log = logging.getLogger("rolegate.admin")

ADMIN_DIST = (
    Path(__file__).resolve().parent.parent / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"
)
NAMESPACE = "/admin"

#: The UI's CSP: the page's, but Vuetify writes its theme into a <style> element at run time, so
#: inline styles are allowed here (scripts still come from the gateway alone, nothing inline runs).
#: Never framed: an admin screen is what clickjacking would want.
ADMIN_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
ADMIN_HEADERS = {"Content-Security-Policy": ADMIN_POLICY, "X-Frame-Options": "DENY"}

#: The UI's index loads Roboto from Google Fonts and its icon font from a CDN: dropped, so the UI
#: asks nothing of an outside site (it falls back to the system font; icons show as blanks).
OUTSIDE_STYLESHEET = re.compile(r'<link rel="stylesheet" href="https://[^"]*">')


def credentials_check(username: str, password: str) -> Any:
    """python-socketio's ``auth`` callable: the UI's ``{username, password}``, compared in constant time."""
    expected = (username.encode(), password.encode())

    def check(auth: object) -> bool:
        if not isinstance(auth, dict):
            return False
        given = (str(auth.get("username", "")).encode(), str(auth.get("password", "")).encode())
        # Both compared every time: which of the two was wrong takes no different time.
        return hmac.compare_digest(given[0], expected[0]) & hmac.compare_digest(given[1], expected[1])

    return check


def register(flask_app: Flask, profile: Profile, sio: Any) -> None:
    """Instrument ``sio`` and serve the UI, when the profile turns ``admin_ui`` on."""
    if not profile.admin_ui:
        return
    server_id = f"{profile.instance_tag or socket.gethostname()}:{os.getpid()}"
    # Kept for uninstrument(): the reporting patches python-engineio's Socket class process-wide.
    flask_app.extensions["admin_ui"] = sio.instrument(
        auth=credentials_check(profile.admin_username, profile.admin_password),
        # 'production' mode reports no sockets and no rooms (python-socketio's admin.py): the
        # read-only setting is what keeps the UI from changing anything.
        mode="development",
        read_only=profile.admin_mode == "readonly",
        namespace=NAMESPACE,
        server_id=server_id,
    )
    if not (ADMIN_DIST / "index.html").is_file():
        log.warning("%s is missing: /admin/ cannot be served; run `make install`", ADMIN_DIST)
    log.info(
        "Admin UI at /admin/ (%s, namespace %s, server %s)",
        "read-only" if profile.admin_mode == "readonly" else "read-write",
        NAMESPACE,
        server_id,
    )

    def missing() -> Response:
        return Response(
            "the Admin UI is not installed on this gateway; run `make install`\n",
            503,
            mimetype="text/plain",
            headers=ADMIN_HEADERS,
        )

    @flask_app.get("/admin")
    def admin_redirect() -> Response:
        return redirect("/admin/", 308)

    @flask_app.get("/admin/")
    def admin_index() -> Response:
        index = ADMIN_DIST / "index.html"
        if not index.is_file():
            return missing()
        html = OUTSIDE_STYLESHEET.sub("", index.read_text(encoding="utf-8"))
        return Response(html, mimetype="text/html", headers={**ADMIN_HEADERS, "Cache-Control": "no-cache"})

    @flask_app.get("/admin/<path:name>")
    def admin_file(name: str) -> Response:
        if not ADMIN_DIST.is_dir():
            return missing()
        # send_from_directory refuses any path outside ADMIN_DIST (404).
        response = send_from_directory(ADMIN_DIST, name, max_age=3600)
        response.headers.update(ADMIN_HEADERS)
        return response
