"""Turn built-in profiles, a user's profile file, the environment and an app's mapping into a Profile.

Order of precedence, lowest first: the defaults in ``settings.py``, the built-in
profile (a role, or a host preset that extends one), a user's profile that extends
it, ``GATEWAY_<SETTING>`` environment variables, then the mapping an application
passes to ``create_app`` (tests build apps this way, as Flask's tutorial does).
Anything unknown or out of range raises ConfigError: python-engineio silently
ignores options it does not know, so we must not. Each value remembers where it
came from, for ``rolegate config``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from config.hosts import check_fits_host
from config.profile import Profile
from config.settings import BY_NAME, ConfigError, lookup, parse_value

BUILTIN_FILE = Path(__file__).with_name("profiles.toml")
DEFAULT_PROFILE = "worker-role"
#: Keys of a profile table that document it rather than set anything.
DOC_KEYS = ("description", "extends", "source")
#: Environment variables that choose a profile rather than set one value.
CONTROL_VARS = ("GATEWAY_PROFILE", "GATEWAY_PROFILE_FILE")
#: Where a value came from, as ``rolegate config`` shows it.
DEFAULT_SOURCE = "default"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"GATEWAY_PROFILE_FILE names {str(path)!r}, which does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _builtin_tables() -> dict[str, dict[str, Any]]:
    """Built-in profiles; each table records its chain of sources in ``_layers``."""
    tables = _read_toml(BUILTIN_FILE)
    resolved = {}
    for name, table in tables.items():
        base = table.get("extends")
        if base is None:
            resolved[name] = {**table, "_layers": [(f"built-in profile {name!r}", table)]}
        else:
            assert base in tables and "extends" not in tables[base], f"{name}: extends {base!r}"
            layers = [(f"built-in profile {base!r}", tables[base]), (f"preset {name!r}", table)]
            resolved[name] = {**tables[base], **table, "_layers": layers}
    return resolved


def available_profiles(environ: Mapping[str, str] = os.environ) -> dict[str, dict[str, Any]]:
    """Built-in profiles plus the user's, as raw tables keyed by name."""
    builtin = _builtin_tables()
    profiles = dict(builtin)
    user_file = environ.get("GATEWAY_PROFILE_FILE")
    if user_file:
        for name, table in _read_toml(Path(user_file)).items():
            if not isinstance(table, dict):
                raise ConfigError(f"{user_file}: {name!r} must be a table like [{name}]")
            if name in builtin:
                raise ConfigError(
                    f"{user_file}: [{name}] is a built-in profile's name; pick a new name for yours and "
                    f'start it with extends = "{name}" (built-in names: {", ".join(builtin)})'
                )
            base = table.get("extends")
            if base not in builtin:
                raise ConfigError(
                    f"{user_file}: profile {name!r} must extend a built-in profile "
                    f"(extends = one of: {', '.join(builtin)}), not {base!r}"
                )
            layers = [*builtin[base]["_layers"], (f"profile file {user_file} [{name}]", table)]
            profiles[name] = {**builtin[base], **table, "_layers": layers}
    return profiles


def load_profile(
    name: str | None = None,
    environ: Mapping[str, str] = os.environ,
    settings: Mapping[str, Any] | None = None,
) -> Profile:
    """Resolve the profile in force; ``name`` wins over ``GATEWAY_PROFILE``, ``settings`` over all."""
    profiles = available_profiles(environ)
    name = name or environ.get("GATEWAY_PROFILE") or DEFAULT_PROFILE
    if name not in profiles:
        raise ConfigError(f"unknown profile {name!r}; valid profiles: {', '.join(profiles)}")
    table = profiles[name]

    values = {s.name: s.default for s in BY_NAME.values()}
    sources = dict.fromkeys(values, DEFAULT_SOURCE)

    def apply(key: str, raw: Any, source: str, shown_source: str) -> str:
        try:
            setting = lookup(key)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        values[setting.name] = parse_value(setting, raw, source)
        sources[setting.name] = shown_source
        return setting.name

    for layer_source, layer in table["_layers"]:
        for key, raw in layer.items():
            if key not in DOC_KEYS:
                apply(key, raw, f"profile {name!r}", layer_source)

    overridden = []
    for var, raw in sorted(environ.items()):
        if not var.startswith("GATEWAY_") or var in CONTROL_VARS:
            continue
        try:
            lookup(var.removeprefix("GATEWAY_"))
        except ConfigError:
            valid = ", ".join([*CONTROL_VARS, *(s.env_var for s in BY_NAME.values())])
            raise ConfigError(f"unknown environment variable {var}; valid ones: {valid}") from None
        overridden.append(apply(var.removeprefix("GATEWAY_"), raw, var, f"environment {var}"))

    for key, raw in (settings or {}).items():
        apply(key, raw, "app settings", "create_app settings")

    profile = Profile(
        name=name,
        description=str(table.get("description", "")),
        overridden=tuple(overridden),
        sources=sources,
        **values,
    )
    check_fits_host(profile)
    check_admin_ui(profile)
    return profile


def check_admin_ui(profile: Profile) -> None:
    """The Admin UI is never served without its credentials."""
    if not profile.admin_ui:
        return
    missing = [s for s in ("admin_username", "admin_password") if not getattr(profile, s)]
    if missing:
        raise ConfigError(
            f"admin_ui is on but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: "
            f"set {' and '.join(BY_NAME[s].env_var for s in missing)} (or turn GATEWAY_ADMIN_UI off)"
        )


def load_profile_or_exit(name: str | None = None) -> Profile:
    """For start-up: a bad configuration prints one clear line and exits 2."""
    try:
        return load_profile(name)
    except ConfigError as exc:
        exit_with(exc)


def exit_with(error: ConfigError) -> NoReturn:
    print(f"rolegate: configuration error: {error}", file=sys.stderr, flush=True)
    sys.exit(2)
