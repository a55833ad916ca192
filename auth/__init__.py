"""Who is speaking: signed identities (JWT) and the pure checks around them.

Pure functions only (no server, no I/O past reading a key file at start-up), unit-tested in
tests/unit/test_auth.py. The chat's side (which connection is whom, expiry, disconnecting a
user) is chat/identity.py; the backend's API is api/.
"""

from auth.globs import room_allowed
from auth.names import name_key, normalize_name
from auth.tokens import TOKEN_EXPIRED, UNAUTHORIZED, Identity, TokenError, Verifier, mint

__all__ = [
    "TOKEN_EXPIRED",
    "UNAUTHORIZED",
    "Identity",
    "TokenError",
    "Verifier",
    "mint",
    "name_key",
    "normalize_name",
    "room_allowed",
]
