"""Rewrite README.md's settings table from config/settings.py (tests/test_docs.py checks it)."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.docs import settings_table  # noqa: E402

readme = ROOT / "README.md"
text = readme.read_text()
block = f"<!-- settings:start -->\n{settings_table()}\n<!-- settings:end -->"
readme.write_text(
    re.sub(r"<!-- settings:start -->.*?<!-- settings:end -->", lambda _: block, text, flags=re.S)
)
