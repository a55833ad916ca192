"""Verify and mint the gateway's JWTs with PyJWT.

A token names a user: ``sub`` (required), ``name`` (shown to others; defaults to ``sub``) and
``rooms`` (glob patterns of the rooms it may join; absent = any room). ``exp`` is required.
HS256 tokens are checked with the shared secret, RS256/ES256 with the public key; the
algorithm a token names is only ever matched against the key meant for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from auth.globs import room_allowed

UNAUTHORIZED = "unauthorized"
TOKEN_EXPIRED = "token_expired"

#: Seconds of clock difference tolerated on ``exp`` (and ``nbf``, ``iat``).
LEEWAY = 10
#: Same as chat.payloads.MAX_NAME (a unit test keeps them equal).
MAX_NAME = 32
MAX_SUB = 128
MAX_TOKEN = 8192
MAX_ROOM_PATTERNS = 100
HMAC_ALGORITHMS = ("HS256",)
KEY_ALGORITHMS = ("RS256", "ES256")


class TokenError(Exception):
    """A token refused: ``code`` is ``unauthorized`` or ``token_expired``; the message never quotes it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_data(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Identity:
    """Who a verified token names."""

    sub: str
    name: str
    rooms: tuple[str, ...] | None  # None: any room
    expires: float  # the token's exp, seconds since the epoch

    def may_enter(self, room: str) -> bool:
        return room_allowed(self.rooms, room)


def _printable(value: Any, longest: int) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= longest and value.isprintable()


def identity_of(claims: dict) -> Identity:
    """The Identity a verified token's claims give, or TokenError(unauthorized) for bad claims."""
    sub = claims.get("sub")
    if not _printable(sub, MAX_SUB):
        raise TokenError(UNAUTHORIZED, f"the token's sub must be 1-{MAX_SUB} printable characters")
    name = claims.get("name", sub)
    if not _printable(name, MAX_NAME):
        raise TokenError(UNAUTHORIZED, f"the token's name must be 1-{MAX_NAME} printable characters")
    rooms = claims.get("rooms")
    if rooms is not None:
        if (
            not isinstance(rooms, list)
            or len(rooms) > MAX_ROOM_PATTERNS
            or not all(isinstance(r, str) and r for r in rooms)
        ):
            raise TokenError(UNAUTHORIZED, "the token's rooms must be a list of glob patterns (strings)")
        rooms = tuple(rooms)
    return Identity(sub=sub.strip(), name=name.strip(), rooms=rooms, expires=float(claims["exp"]))


@dataclass(frozen=True, repr=False)
class Verifier:
    """Checks tokens against the profile's key(s); its repr shows no key."""

    secret: str = ""
    public_key: Any = None  # a cryptography public key object
    audience: str = ""
    issuer: str = ""
    leeway: float = LEEWAY

    def __repr__(self) -> str:
        keys = [
            k for k, present in (("HS256 secret", self.secret), ("public key", self.public_key)) if present
        ]
        return f"Verifier({' + '.join(keys) or 'no key'}, audience={self.audience!r}, issuer={self.issuer!r})"

    def _key_for(self, token: str) -> tuple[Any, str]:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise TokenError(UNAUTHORIZED, "the token is not a JWT") from None
        if algorithm in HMAC_ALGORITHMS and self.secret:
            return self.secret, algorithm
        if algorithm in KEY_ALGORITHMS and self.public_key is not None:
            return self.public_key, algorithm
        raise TokenError(UNAUTHORIZED, f"tokens signed with {algorithm!r} are not accepted here")

    def verify(self, token: Any) -> Identity:
        """The Identity a token names, or TokenError saying why not."""
        if not isinstance(token, str) or not token:
            raise TokenError(UNAUTHORIZED, "the connect carried no token: connect with auth: {token}")
        if len(token) > MAX_TOKEN:
            raise TokenError(UNAUTHORIZED, f"the token is longer than {MAX_TOKEN} characters")
        key, algorithm = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience or None,
                issuer=self.issuer or None,
                leeway=self.leeway,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": bool(self.audience),
                    "verify_iss": bool(self.issuer),
                },
            )
        except jwt.ExpiredSignatureError:
            raise TokenError(TOKEN_EXPIRED, "the token has expired; get a new one") from None
        except jwt.InvalidSignatureError:
            raise TokenError(UNAUTHORIZED, "the token's signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise TokenError(UNAUTHORIZED, "the token is not meant for this gateway (aud)") from None
        except jwt.InvalidIssuerError:
            raise TokenError(UNAUTHORIZED, "the token is not from the expected issuer (iss)") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(UNAUTHORIZED, f"the token has no {error.claim} claim") from None
        except jwt.PyJWTError as error:
            # PyJWT's messages name the failed check, never the token or the key.
            raise TokenError(UNAUTHORIZED, f"the token is not valid: {error}") from None
        return identity_of(claims)


def mint(
    secret: str,
    sub: str,
    name: str | None = None,
    rooms: list[str] | None = None,
    ttl: float = 3600,
    audience: str = "",
    issuer: str = "",
    now: float | None = None,
) -> str:
    """An HS256 token as the gateway expects it (``rolegate token``, tests, and your backend's model)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"sub": sub, "iat": issued, "exp": issued + int(ttl)}
    if name is not None:
        claims["name"] = name
    if rooms is not None:
        claims["rooms"] = list(rooms)
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
