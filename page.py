"""The chat page: ``GET /``, the browser client bundle, and ``/policy``, all from the gateway's own origin.

Intranet and IIS hosts often cannot reach a CDN, so the official socket.io-client
bundle is served from ``node_modules`` (installed by ``make install`` from the
pinned ``package.json``); nothing third-party is committed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, send_from_directory

from config import Profile
from transports.options import client_options

log = logging.getLogger("rolegate.page")

CLIENT_DIST = Path(__file__).resolve().parent / "node_modules" / "socket.io-client" / "dist"
#: The only files of the bundle the page needs (the map is for browser devtools).
CLIENT_FILES = ("socket.io.min.js", "socket.io.min.js.map")
CLIENT_URL = "/vendor/socket.io.min.js"


#: The page's Content-Security-Policy, but for ``frame-ancestors`` (from the profile). Scripts,
#: styles and connections come from the gateway alone and nothing inline runs: the client options
#: are a ``<script type="application/json">`` data block, which is never executed. ``data:`` is
#: for the page's empty favicon. ``'self'`` covers ws:/wss: to the same host (CSP Level 3).
PAGE_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)
#: X-Frame-Options for browsers without CSP frame-ancestors, when the profile's value has one.
FRAME_OPTIONS = {("'none'",): "DENY", ("'self'",): "SAMEORIGIN"}


def connect_sources(profile: Profile) -> list[str]:
    """Where the page may fetch or connect: its own origin, and the sign-in endpoint's if elsewhere."""
    sources = ["'self'"]
    token_url = urlsplit(profile.auth_token_url)
    if token_url.scheme in ("http", "https") and token_url.netloc:
        sources.append(f"{token_url.scheme}://{token_url.netloc}")
    return sources


def security_headers(profile: Profile) -> dict[str, str]:
    """The headers every page, script, style and JSON answer of the gateway carries."""
    headers = {
        "Content-Security-Policy": "; ".join(
            (
                *PAGE_POLICY,
                "connect-src " + " ".join(connect_sources(profile)),
                "frame-ancestors " + " ".join(profile.frame_ancestors),
            )
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    # X-Frame-Options can only say DENY or SAMEORIGIN; a list of origins is CSP's alone
    # (CSP frame-ancestors wins over it where both are understood).
    if tuple(profile.frame_ancestors) in FRAME_OPTIONS:
        headers["X-Frame-Options"] = FRAME_OPTIONS[tuple(profile.frame_ancestors)]
    return headers


def register(flask_app: Flask, profile: Profile) -> None:
    """Add the page and the client bundle routes to ``flask_app``, and the headers that keep them safe."""
    if not (CLIENT_DIST / CLIENT_FILES[0]).is_file():
        log.warning("%s is missing: the chat page cannot connect; run `make install`", CLIENT_DIST)
    headers = security_headers(profile)

    @flask_app.after_request
    def add_security_headers(response: Response) -> Response:
        # Every Flask answer: the page, /static/, /vendor/, /policy, /healthz, /metrics, 404s.
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    @flask_app.get("/")
    def index() -> str:
        # The options are rendered into the page, so it never needs a second request
        # before connecting and never tries a transport the server refuses.
        return render_template("index.html", client=client_options(profile), client_url=CLIENT_URL)

    @flask_app.get("/policy")
    def policy() -> Response:
        """The client options, for clients other than the page (and for ``rolegate doctor``)."""
        return jsonify(client_options(profile))

    @flask_app.get("/vendor/<name>")
    def client_bundle(name: str) -> Response:
        if name not in CLIENT_FILES:
            return Response(f"no such file: {name}\n", 404, mimetype="text/plain")
        if not (CLIENT_DIST / name).is_file():
            log.error("%s is missing from %s; run `make install`", name, CLIENT_DIST)
            return Response(
                f"{name} is not installed on this gateway; run `make install`\n", 503, mimetype="text/plain"
            )
        return send_from_directory(CLIENT_DIST, name, max_age=3600)
