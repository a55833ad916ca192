"""The installed `rolegate` command reaches every package of the gateway from any directory."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {"tests", "bench", "node_modules", ".venv"}


def test_every_package_and_the_app_import_from_another_directory():
    packages = sorted(
        path.parent.name for path in ROOT.glob("*/__init__.py") if path.parent.name not in NOT_SHIPPED
    )
    assert {"config", "transports", "seam", "chat"} <= set(packages)
    code = f"import importlib\nfor name in {packages!r}: importlib.import_module(name)\nimport app, page"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
