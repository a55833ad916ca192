"""The profile's keys, read once at start-up: a Verifier for ``auth=jwt``, or None for ``auth=none``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from auth.tokens import Verifier
from config.profile import Profile
from config.settings import ConfigError


def load_public_key(value: str) -> Any:
    """A public key from PEM text (``\\n`` escapes allowed, as environments carry it) or a file path."""
    if value.startswith("-----BEGIN"):
        pem, where = value.replace("\\n", "\n"), "auth_public_key"
    else:
        path = Path(value)
        try:
            pem = path.read_text()
        except OSError as error:
            raise ConfigError(f"auth_public_key: cannot read {value!r}: {error.strerror}") from None
        where = f"auth_public_key file {value!r}"
    try:
        return load_pem_public_key(pem.encode())
    except ValueError:
        raise ConfigError(f"{where} does not hold a PEM public key (-----BEGIN PUBLIC KEY-----)") from None


def verifier_for(profile: Profile) -> Verifier | None:
    """What checks tokens under this profile; a ConfigError when ``jwt`` has nothing to check them with."""
    if profile.auth != "jwt":
        return None
    if not profile.auth_secret and not profile.auth_public_key:
        raise ConfigError(
            "auth = jwt needs GATEWAY_AUTH_SECRET (HS256) or GATEWAY_AUTH_PUBLIC_KEY (RS256/ES256) "
            "to verify tokens with"
        )
    key = load_public_key(profile.auth_public_key) if profile.auth_public_key else None
    return Verifier(
        secret=profile.auth_secret,
        public_key=key,
        audience=profile.auth_audience,
        issuer=profile.auth_issuer,
    )
