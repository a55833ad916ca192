"""The README's generated tables, from the code that defines them: ``python -m cli.readme [--write]``.

Each table sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in README.md.
Without ``--write`` the tables are printed; tests/test_docs.py checks README.md holds exactly these.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from chat.errors import CODES as CHAT_CODES
from config.docs import presets_table, settings_table
from transports.refusals import CODES as REFUSAL_CODES

README = Path(__file__).resolve().parent.parent / "README.md"


def errors_table() -> str:
    rows = ["| code | when |", "|---|---|"]
    rows += [f"| `{code}` | {when} |" for code, when in CHAT_CODES.items()]
    return "\n".join(rows)


def refusals_table() -> str:
    rows = ["| code | HTTP status | when |", "|---|---|---|"]
    rows += [f"| `{code}` | {status.split()[0]} | {when} |" for code, (status, when) in REFUSAL_CODES.items()]
    return "\n".join(rows)


#: Marker name in README.md -> the function that makes its table.
TABLES: dict[str, Callable[[], str]] = {
    "settings": settings_table,
    "presets": presets_table,
    "errors": errors_table,
    "refusals": refusals_table,
}


def rewrite(text: str) -> str:
    """README text with every generated table replaced by what the code gives now."""
    for name, make in TABLES.items():
        block = f"<!-- {name}:start -->\n{make()}\n<!-- {name}:end -->"
        text, found = re.subn(
            rf"<!-- {name}:start -->.*?<!-- {name}:end -->", lambda _, block=block: block, text, flags=re.S
        )
        assert found == 1, f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.readme", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md in place")
    args = parser.parse_args(argv)
    if args.write:
        README.write_text(rewrite(README.read_text()))
    else:
        for name, make in TABLES.items():
            print(f"<!-- {name}:start -->\n{make()}\n<!-- {name}:end -->\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
