"""Turn built-in profiles, a user's profile file and the environment into a Profile.

Order of precedence, lowest first: the defaults in ``settings.py``, the
built-in profile, a user's profile that extends it, then ``GATEWAY_<SETTING>``
environment variables. Anything unknown or out of range raises ConfigError:
python-engineio silently ignores options it does not know, so we must not.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from config.hosts import check_fits_host
from config.profile import SETTING_FIELDS, Profile
from config.settings import BY_NAME, ConfigError, lookup, parse_value

BUILTIN_FILE = Path(__file__).with_name("profiles.toml")
DEFAULT_PROFILE = "worker-role"
#: Keys of a profile table that document it rather than set anything.
DOC_KEYS = ("description", "extends", "source")
#: Environment variables that choose a profile rather than set one value.
CONTROL_VARS = ("GATEWAY_PROFILE", "GATEWAY_PROFILE_FILE")

assert tuple(BY_NAME) == SETTING_FIELDS, "Profile fields and SETTINGS must match"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"GATEWAY_PROFILE_FILE names {str(path)!r}, which does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _apply(values: dict[str, Any], table: Mapping[str, Any], source: str) -> None:
    """Parse every key of one profile table into ``values``."""
    for key, raw in table.items():
        if key in DOC_KEYS:
            continue
        try:
            setting = lookup(key)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        values[setting.name] = parse_value(setting, raw, source)


def _resolve_builtin(tables: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Host presets extend a role profile (one level): merge each onto its base."""
    resolved = {}
    for name, table in tables.items():
        base = table.get("extends")
        if base is None:
            resolved[name] = table
        else:
            assert base in tables and "extends" not in tables[base], f"{name}: extends {base!r}"
            resolved[name] = {**tables[base], **table}
    return resolved


def available_profiles(environ: Mapping[str, str] = os.environ) -> dict[str, dict[str, Any]]:
    """Built-in profiles plus the user's, as raw tables keyed by name."""
    builtin = _resolve_builtin(_read_toml(BUILTIN_FILE))
    profiles = dict(builtin)
    user_file = environ.get("GATEWAY_PROFILE_FILE")
    if user_file:
        for name, table in _read_toml(Path(user_file)).items():
            if not isinstance(table, dict):
                raise ConfigError(f"{user_file}: {name!r} must be a table like [{name}]")
            base = table.get("extends")
            if base not in builtin:
                raise ConfigError(
                    f"{user_file}: profile {name!r} must extend a built-in profile "
                    f"(extends = one of: {', '.join(builtin)}), not {base!r}"
                )
            profiles[name] = {**builtin[base], **table}
    return profiles


def load_profile(name: str | None = None, environ: Mapping[str, str] = os.environ) -> Profile:
    """Resolve the profile in force; ``name`` wins over ``GATEWAY_PROFILE``."""
    profiles = available_profiles(environ)
    name = name or environ.get("GATEWAY_PROFILE") or DEFAULT_PROFILE
    if name not in profiles:
        raise ConfigError(f"unknown profile {name!r}; valid profiles: {', '.join(profiles)}")
    table = profiles[name]

    values = {s.name: s.default for s in BY_NAME.values()}
    _apply(values, table, f"profile {name!r}")

    overridden = []
    for var, raw in sorted(environ.items()):
        if not var.startswith("GATEWAY_") or var in CONTROL_VARS:
            continue
        try:
            setting = lookup(var.removeprefix("GATEWAY_"))
        except ConfigError:
            valid = ", ".join([*CONTROL_VARS, *(s.env_var for s in BY_NAME.values())])
            raise ConfigError(f"unknown environment variable {var}; valid ones: {valid}") from None
        values[setting.name] = parse_value(setting, raw, var)
        overridden.append(setting.name)

    profile = Profile(
        name=name,
        description=str(table.get("description", "")),
        overridden=tuple(overridden),
        **values,
    )
    check_fits_host(profile)
    return profile


def load_profile_or_exit(name: str | None = None) -> Profile:
    """For start-up: a bad configuration prints one clear line and exits 2."""
    try:
        return load_profile(name)
    except ConfigError as exc:
        exit_with(exc)


def exit_with(error: ConfigError) -> NoReturn:
    print(f"rolegate: configuration error: {error}", file=sys.stderr, flush=True)
    sys.exit(2)
