"""Names typed by people (``auth=none``): one spelling per name, and one key per look-alike."""

from __future__ import annotations

import unicodedata


def normalize_name(name: str) -> str:
    """NFKC, trimmed: full-width ``Ａｎｎ`` and ligatures become the plain letters people read."""
    return unicodedata.normalize("NFKC", name).strip()


def name_key(name: str) -> str:
    """What two names must differ in to be told apart in a room: NFKC, then case-folded."""
    return normalize_name(name).casefold()
