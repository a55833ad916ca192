"""RFC 6455 frame codec: pure functions, no state, no I/O.

Kept apart from the protocol so the handshake (``accept_key``) and the server's own frames can be
built without a connection, and so the unmask trick lives in one place.
"""

from __future__ import annotations

import base64
import hashlib
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

NORMAL_CLOSURE = 1000
PROTOCOL_ERROR = 1002
INVALID_FRAME_DATA = 1007
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
#: Close codes a peer may send (RFC 6455 7.4); others are a protocol error.
VALID_CLOSE_CODES = frozenset(range(1000, 1012)) - {1004, 1005, 1006} | frozenset(range(3000, 5000))
#: A close frame's payload is at most 125 bytes: the 2-byte code and up to 123 bytes of reason.
MAX_CLOSE_REASON_BYTES = 123

_pack_short = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + GUID).digest()).decode()


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR a client payload with its 4-byte mask, as one big integer (no per-byte Python loop)."""
    n = len(payload)
    if not n:
        return b""
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final server frame."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return _pack_short(0x80 | opcode, 126, n) + payload
    return _pack_long(0x80 | opcode, 127, n) + payload


def close_payload(code: int, reason: str = "") -> bytes:
    """A close frame's payload: the code, and the reason cut to 123 bytes on a character boundary."""
    encoded = reason.encode()
    if len(encoded) > MAX_CLOSE_REASON_BYTES:  # a cut inside a character would send invalid UTF-8
        encoded = encoded[:MAX_CLOSE_REASON_BYTES].decode("utf-8", "ignore").encode()
    return code.to_bytes(2, "big") + encoded
