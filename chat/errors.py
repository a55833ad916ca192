"""The chat's error codes: stable strings clients can branch on, with a message a person can read."""

from __future__ import annotations

import uuid

INVALID_PAYLOAD = "invalid_payload"
INVALID_ROOM = "invalid_room"
INVALID_NAME = "invalid_name"
TEXT_TOO_LONG = "text_too_long"
NOT_IN_ROOM = "not_in_room"
TOO_MANY_ROOMS = "too_many_rooms"
RATE_LIMITED = "rate_limited"
BAD_REQUEST = "bad_request"
CLIENT_ID_TAKEN = "client_id_taken"
MALFORMED_PACKET = "malformed_packet"
INTERNAL_ERROR = "internal_error"
UNAVAILABLE = "unavailable"
FORBIDDEN = "forbidden"
NAME_TAKEN = "name_taken"
UNAUTHORIZED = "unauthorized"
TOKEN_EXPIRED = "token_expired"
DISCONNECTED_BY_SERVER = "disconnected_by_server"

#: Every code, with when it is sent (the README's error table is checked against this).
CODES: dict[str, str] = {
    INVALID_PAYLOAD: "the event's data is not an object of the documented shape",
    INVALID_ROOM: "`room` is not 1-64 printable characters (no invisible or direction-changing ones)",
    INVALID_NAME: "`name` is not 1-32 printable characters (no invisible or direction-changing ones)",
    TEXT_TOO_LONG: "`text` is longer than the profile's `max_text_length`",
    NOT_IN_ROOM: "`message` or `leave` for a room the connection has not joined",
    TOO_MANY_ROOMS: "`join` past the profile's `max_rooms`",
    RATE_LIMITED: "more messages, or joins and leaves, than the profile's `messages_per_second` or "
    "`joins_per_second` allows; retry later",
    BAD_REQUEST: "a value no event accepts: more arguments than the one object, a string with a lone "
    "surrogate, an integer out of range, JSON nested too deep",
    CLIENT_ID_TAKEN: "`message` with a `client_id` another sender in the room used first (another `sub` "
    "with `auth=jwt`, another name with `auth=none`); send it with a new one",
    MALFORMED_PACKET: "a Socket.IO packet that could not be decoded (sent as an `error` event)",
    INTERNAL_ERROR: "the server failed while handling the event; `id` names the incident in the server log",
    UNAVAILABLE: "the history store failed or did not answer within `store_timeout` (disk full, Redis down); "
    "nothing was stored: send it again later with the same `client_id`",
    FORBIDDEN: "`join` (and so its history) of a room the token's `rooms` claim does not allow",
    NAME_TAKEN: "`join` with `auth=none` under a name that differs from a member's only in case or "
    "compatibility form (NFKC): a look-alike",
    UNAUTHORIZED: "`connect_error` with `auth=jwt`: the token is missing, malformed, badly signed, or not "
    "for this gateway (`aud`, `iss`)",
    TOKEN_EXPIRED: "`connect_error` with an expired token; or an `error` event just before the server "
    "disconnects a connection whose token expired: get a new token and connect again",
    DISCONNECTED_BY_SERVER: "an `error` event before the server closes every connection of a user "
    "(the API's `POST /api/users/<sub>/disconnect`)",
}


class ChatError(Exception):
    """Refuses one request; the connection and everyone else carry on."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        #: Seconds after which the same request would pass (``rate_limited``), for clients to wait on.
        self.retry_after = retry_after

    def to_ack(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = round(self.retry_after, 3)
        return {"ok": False, "error": error}


def incident_id() -> str:
    """A short id that ties what a client was told to the log line with the traceback."""
    return uuid.uuid4().hex[:12]
