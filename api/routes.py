"""The API's routes: post to a room, read its history and members, disconnect a user everywhere."""

from __future__ import annotations

import hmac
import logging
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from api.openapi import document
from chat import Chat
from chat.errors import CLIENT_ID_TAKEN, INVALID_PAYLOAD, TEXT_TOO_LONG, ChatError
from chat.identity import same_sender
from chat.payloads import MAX_CLIENT_ID, Join, Post
from ops import metrics
from ops.address import client_address

log = logging.getLogger("rolegate.api")

UNAUTHORIZED = "unauthorized"
NOT_FOUND = "not_found"
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: HTTP status of each chat error code the API can answer (others: 400).
STATUS = {TEXT_TOO_LONG: 413, CLIENT_ID_TAKEN: 409}


def error(code: str, message: str, status: int) -> Response:
    response = jsonify(code=code, message=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="rolegate-api"'
    return response


def key_matches(authorization: str, key: str) -> bool:
    """``Authorization: Bearer <key>``, compared in constant time."""
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), key.encode())


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ChatError(INVALID_PAYLOAD, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ChatError(INVALID_PAYLOAD, f"{name} must be between {low} and {high}")
    return value


def register(flask_app: Flask, chat: Chat) -> None:
    """Add ``/api/``: the routes when ``api_key`` is set, else a 404 that says the API is off."""
    profile = chat.profile
    api = Blueprint("api", __name__, url_prefix="/api")

    if not profile.api_key:

        @api.route("/", defaults={"rest": ""}, methods=ANY_METHOD)
        @api.route("/<path:rest>", methods=ANY_METHOD)
        def off(rest: str) -> Response:
            return error(NOT_FOUND, "the server API is off: set GATEWAY_API_KEY to turn it on", 404)

        flask_app.register_blueprint(api)
        return

    @api.before_request
    def check_key() -> Response | None:
        if request.endpoint == "api.openapi":
            return None
        if not key_matches(request.headers.get("Authorization", ""), profile.api_key):
            log.info(
                "refused API %s %s from %s: no valid key",
                request.method,
                request.path,
                client_address(request.environ),
            )
            metrics.count_error(UNAUTHORIZED)
            return error(UNAUTHORIZED, "send Authorization: Bearer <GATEWAY_API_KEY>", 401)
        return None

    @api.errorhandler(ChatError)
    def chat_error(failure: ChatError) -> Response:
        return error(failure.code, failure.message, STATUS.get(failure.code, 400))

    @api.route("/", defaults={"rest": ""}, methods=ANY_METHOD)
    @api.route("/<path:rest>", methods=ANY_METHOD)
    def not_found(rest: str) -> Response:
        return error(NOT_FOUND, f"no API route {request.method} {request.path}; see /api/openapi.json", 404)

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ChatError(INVALID_PAYLOAD, "send a JSON object (Content-Type: application/json)")
        return data

    def room_checked(room: str) -> str:
        return Join.parse({"room": room, "name": "api"}).room

    @api.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(document(profile))

    @api.post("/rooms/<room>/messages")
    def post_message(room: str) -> tuple[Response, int]:
        data = body()
        name = Join.parse({"room": room, "name": data.get("name")}).name
        client_id = data.get("client_id")
        if client_id is None:
            client_id = "api-" + uuid.uuid4().hex
        elif not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
            raise ChatError(INVALID_PAYLOAD, f"client_id must be a string of 1-{MAX_CLIENT_ID} characters")
        post = Post.parse(
            {"room": room, "text": data.get("text"), "client_id": client_id}, profile.max_text_length
        )
        with metrics.history_write():
            stored, is_new = chat.history.add(post.room, name, post.text, post.client_id)
        if not is_new and not same_sender(stored, "", name):
            # The API posts as ``name`` with no sub: the same rule as a user's resend (chat/events.py).
            raise ChatError(
                CLIENT_ID_TAKEN, "another sender in this room used this client_id first; send with a new one"
            )
        if is_new:
            chat.sio.emit("message", stored.to_wire(), to=post.room)  # every process, through the queue
        return jsonify(stored.to_wire()), 201 if is_new else 200

    @api.get("/rooms/<room>/messages")
    def read_messages(room: str) -> Response:
        room = room_checked(room)
        since = _int_arg("since", 0, 0, 2**63 - 1)
        limit = _int_arg("limit", profile.replay_limit, 1, profile.replay_limit)
        messages, truncated = chat.history.after(room, since, limit)
        return jsonify(messages=[m.to_wire() for m in messages], truncated=truncated)

    @api.get("/rooms/<room>/members")
    def members(room: str) -> Response:
        return jsonify(members=chat.rooms.members(room_checked(room)))

    @api.post("/users/<sub>/disconnect")
    def disconnect_user(sub: str) -> tuple[Response, int]:
        chat.identities.disconnect_user(sub)
        log.info("API: disconnecting every connection of %s", sub)
        return jsonify(sub=sub, disconnecting=True), 202

    flask_app.register_blueprint(api)
