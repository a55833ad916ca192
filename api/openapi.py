"""The API's OpenAPI 3.1 document, served at ``/api/openapi.json`` (validated in tests/test_api.py)."""

from __future__ import annotations

from typing import Any

from chat.payloads import MAX_CLIENT_ID, MAX_NAME, MAX_ROOM
from config.profile import Profile


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: str | dict) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def document(profile: Profile) -> dict[str, Any]:
    room = {
        "name": "room",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ROOM},
    }
    denied = {"401": _error("no `Authorization: Bearer <GATEWAY_API_KEY>`, or a wrong key")}
    bad = {"400": _error("a bad room, name, text, client_id, since or limit (`code` says which)")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rolegate server API",
            "version": "1",
            "description": "For the application's own backend: post to rooms, read history and members, "
            "disconnect a user on every gateway process. Errors are `{code, message}`.",
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/api/rooms/{room}/messages": {
                "parameters": [room],
                "post": {
                    "operationId": "postMessage",
                    "summary": "Store a message like a user's, and send it to the room on every process",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/NewMessage"}}
                        },
                    },
                    "responses": {
                        "201": _json("stored and sent", "Message"),
                        "200": _json("a resend of a client_id already stored: the stored message", "Message"),
                        **bad,
                        "409": _error(
                            "`client_id_taken`: another sender (another name, or a user) "
                            "stored this client_id first"
                        ),
                        **denied,
                        "413": _error(f"text longer than max_text_length ({profile.max_text_length})"),
                    },
                },
                "get": {
                    "operationId": "readMessages",
                    "summary": "Messages after `since`, oldest first",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "default": 0},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": profile.replay_limit,
                                "default": profile.replay_limit,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(
                            "`truncated`: more messages are waiting; ask again with the last id as `since`",
                            {
                                "type": "object",
                                "required": ["messages", "truncated"],
                                "properties": {
                                    "messages": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Message"},
                                    },
                                    "truncated": {"type": "boolean"},
                                },
                            },
                        ),
                        **bad,
                        **denied,
                    },
                },
            },
            "/api/rooms/{room}/members": {
                "parameters": [room],
                "get": {
                    "operationId": "roomMembers",
                    "summary": "Names in the room, on every process sharing the Redis store, each once",
                    "responses": {
                        "200": _json(
                            "the members",
                            {
                                "type": "object",
                                "required": ["members"],
                                "properties": {"members": {"type": "array", "items": {"type": "string"}}},
                            },
                        ),
                        **bad,
                        **denied,
                    },
                },
            },
            "/api/users/{sub}/disconnect": {
                "parameters": [{"name": "sub", "in": "path", "required": True, "schema": {"type": "string"}}],
                "post": {
                    "operationId": "disconnectUser",
                    "summary": "Close every connection of the user, on every process",
                    "responses": {
                        "202": _json(
                            "asked of every process",
                            {
                                "type": "object",
                                "required": ["sub", "disconnecting"],
                                "properties": {
                                    "sub": {"type": "string"},
                                    "disconnecting": {"type": "boolean"},
                                },
                            },
                        ),
                        **denied,
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
                "NewMessage": {
                    "type": "object",
                    "required": ["name", "text"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
                        "text": {"type": "string", "minLength": 1, "maxLength": profile.max_text_length},
                        "client_id": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_CLIENT_ID,
                            "description": "a resend of the same (room, client_id) is stored once",
                        },
                    },
                },
                "Message": {
                    "type": "object",
                    "required": ["id", "room", "name", "text", "ts", "client_id", "seq"],
                    "properties": {
                        "id": {"type": "integer"},
                        "room": {"type": "string"},
                        "name": {"type": "string"},
                        "text": {"type": "string"},
                        "ts": {"type": "integer", "description": "server time, milliseconds since the epoch"},
                        "client_id": {"type": "string"},
                        "seq": {
                            "type": "integer",
                            "description": "1, 2, 3... within the room, with no holes",
                        },
                        "sub": {
                            "type": "string",
                            "description": "the sender's token `sub` (auth=jwt); absent from the API's posts",
                        },
                    },
                },
            },
        },
    }
