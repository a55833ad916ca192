"""``rolegate config``: the effective settings of a profile, each with where its value came from."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from config import SETTINGS, ConfigError, load_profile
from config.loading import exit_with

MASK = "********"


def shown(value: object, secret: bool) -> str:
    """A value as the table shows it: secrets masked, and a password in a URL too."""
    if secret:
        return MASK if value else "(not set)"
    if isinstance(value, tuple):
        return ", ".join(value) or "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if "://" in text:
        parts = urlsplit(text)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@")
            text = urlunsplit(parts._replace(netloc=netloc))
    return text if text else "(none)"


def render(profile_name: str | None = None) -> str:
    profile = load_profile(profile_name)
    rows = [("setting", "value", "from")]
    for setting in SETTINGS:
        value = getattr(profile, setting.name)
        rows.append((setting.name, shown(value, setting.secret), profile.sources.get(setting.name, "")))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"profile {profile.name}: {profile.description}"]
    lines += [f"{name:<{width[0]}}  {value:<{width[1]}}  {source}" for name, value, source in rows]
    lines += [f"warning: {warning}" for warning in profile.warnings()]
    return "\n".join(lines)


def show(profile_name: str | None = None) -> int:
    try:
        print(render(profile_name))
    except ConfigError as error:
        exit_with(error)
    return 0
