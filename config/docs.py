"""The README's settings and host presets tables, generated from the settings and profiles.

``python -m cli.readme --write`` puts them (with the other generated tables) into
README.md, and a test checks that README.md holds exactly these, so the docs cannot
drift from the code. The settings table has one column per role profile; host
presets (profiles that extend a role) get a table of their own, which shows only
what each changes, so it stays readable however many presets there are.
"""

from __future__ import annotations

from config.loading import available_profiles, load_profile
from config.settings import SETTINGS


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) or "(none)"
    if value == "":
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _roles_and_presets() -> tuple[list[str], list[str]]:
    tables = available_profiles({})
    roles = [name for name, table in tables.items() if "extends" not in table]
    return roles, [name for name in tables if name not in roles]


def settings_table() -> str:
    """One row per setting: name, environment variable, and its value in each role profile."""
    names = _roles_and_presets()[0]
    profiles = [load_profile(name, environ={}) for name in names]
    head = ["setting", "environment variable", *(f"`{n}`" for n in names), "meaning"]
    rows = [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for s in SETTINGS:
        cells = [f"`{s.name}`", f"`{s.env_var}`", *(_show(getattr(p, s.name)) for p in profiles), s.doc]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def presets_table() -> str:
    """One row per host preset: its role, host limit, what it changes, notes and source."""
    tables = available_profiles({})
    rows = [
        "| preset | extends | host idle limit | changes | host notes | source |",
        "|---|---|---|---|---|---|",
    ]
    for name in _roles_and_presets()[1]:
        preset = load_profile(name, environ={})
        base = load_profile(tables[name]["extends"], environ={})
        changes = [
            f"`{s.name}` = {_show(getattr(preset, s.name))}"
            for s in SETTINGS
            if s.name != "host_idle_limit" and getattr(preset, s.name) != getattr(base, s.name)
        ]
        cells = [
            f"`{name}`",
            f"`{base.name}`",
            f"{_show(preset.host_idle_limit)} s",
            ", ".join(changes) or "—",
            preset.description,
            f"[docs]({tables[name]['source']})",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
