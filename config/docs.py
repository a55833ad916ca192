"""Print the README's settings table from ``SETTINGS`` (``python -m config.docs``).

A test checks that README.md holds exactly this table, so the docs cannot
drift from the code.
"""

from __future__ import annotations

from config.loading import available_profiles, load_profile
from config.settings import SETTINGS


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) or "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def settings_table() -> str:
    """One row per setting: name, environment variable, default, and per built-in profile."""
    names = list(available_profiles({}))
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


if __name__ == "__main__":
    print(settings_table())
