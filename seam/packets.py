"""What python-engineio's packet decoders would choke on, checked before they see it.

python-engineio decodes WebSocket frames outside its error handling (an invalid
Engine.IO packet raised an uncaught ValueError and an HTTP 500 page was written
into the upgraded socket), and a polling POST it cannot decode is logged with a
traceback, dropped whole and still answered 200. These checks are pure: bytes
or text in, a verdict out.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from engineio.payload import Payload

#: Engine.IO v4 packet types a client may send as text: 1 close ... 6 noop ("0" open is server-only).
CLIENT_PACKET_TYPES = frozenset("123456")
#: What python-engineio's Socket.receive handles from a polling POST: 1 close, 3 pong, 4 message,
#: 5 upgrade. A ping or noop raised UnknownPacketError, and the disconnect that followed waited
#: for a long-poll to drain the queue: the POST hung until the client polled again.
POLLING_CLIENT_PACKET_TYPES = frozenset("1345")
PACKET_SEPARATOR = "\x1e"
#: python-engineio refuses a payload of more packets than this (a class attribute of its Payload).
MAX_DECODE_PACKETS: int = Payload.max_decode_packets


def valid_engineio_frame(data: str | bytes) -> bool:
    """What engine.io's packet decoder accepts without raising (binary frames always are)."""
    if isinstance(data, bytes | bytearray):
        return True
    return bool(data) and data[0] in CLIENT_PACKET_TYPES


def polling_payload_problem(body: bytes) -> str | None:
    """Why python-engineio could not decode this polling POST body, or None.

    It would raise, log a traceback, drop the whole payload and still answer
    200; the gate answers 400 with this reason instead.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the payload is not UTF-8"
    if text.startswith("d="):  # JSONP form post
        text = parse_qs(text).get("d", [""])[0]
    if not text:
        return None
    packets = text.split(PACKET_SEPARATOR)
    if len(packets) > MAX_DECODE_PACKETS:
        return f"more than {MAX_DECODE_PACKETS} packets in one payload"
    for encoded in packets:
        if encoded.startswith("b"):
            try:
                base64.b64decode(encoded[1:])
            except ValueError:  # binascii.Error, or non-ASCII text in the base64
                return "a binary packet is not valid base64"
        elif not valid_engineio_frame(encoded):
            return f"{encoded[:20]!r} is not an Engine.IO packet"
        elif encoded[0] not in POLLING_CLIENT_PACKET_TYPES:
            return f"{encoded[:20]!r} is not an Engine.IO packet a client sends over polling"
    return None
