"""The operator's endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

from config.profile import Profile
from ops import metrics
from ops.readiness import Readiness


def register(flask_app: Flask, profile: Profile, sio: Any) -> None:
    """Add the operator's routes; ``sio`` is the gateway's seam.server.GuardedServer."""

    @flask_app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", profile=profile.name, transports=list(profile.transports))

    readiness = Readiness(flask_app.extensions["history"], flask_app.extensions.get("message_queue"))

    @flask_app.get("/readyz")
    def readyz() -> Response:
        checks = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in readiness.checks().items()}
        failed = [name for name, check in checks.items() if not check["ok"]]
        if failed:
            return jsonify(status="not ready", failed=failed, checks=checks), 503
        return jsonify(status="ready", checks=checks)

    @flask_app.get("/metrics")
    def prometheus_metrics() -> Response:
        if not metrics.authorized(request.headers.get("Authorization", ""), profile.metrics_token):
            return Response(
                "GET /metrics needs Authorization: Bearer <GATEWAY_METRICS_TOKEN>\n",
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                content_type="text/plain; charset=utf-8",
            )
        readiness.checks()  # rolegate_ready{check}: a store probe at most every few seconds
        accept = request.headers.get("Accept", "")
        body, content_type = metrics.exposition(
            sio.sessions_by_transport(), profile.name, profile.instance_tag, accept
        )
        return Response(body, content_type=content_type)
