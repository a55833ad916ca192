"""The deploy/ files users copy: what they tell the gateway is what the gateway accepts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT
from hosts import NGINX_CONFIGS, nginx_test, render, write_main_conf

from config import load_profile

#: Every conf.d snippet in deploy/nginx/, found by glob so that a new one is checked too.
NGINX_CONFS = sorted(path.name for path in NGINX_CONFIGS.glob("*.conf"))

#: A value for every placeholder the snippets use (``listen`` is given per file). nginx -t resolves
#: the upstream addresses but connects to nothing, so any port will do.
PLACEHOLDERS = {
    "gateway": "127.0.0.1:5000",
    "gateway_1": "127.0.0.1:5001",
    "gateway_2": "127.0.0.1:5002",
    "read_timeout": "60s",
}


def test_iis_web_config_runs_python_app_py_with_web_role_in_one_process():
    platform = ET.parse(ROOT / "deploy" / "iis" / "web.config").find("system.webServer/httpPlatform")
    assert platform is not None
    assert platform.get("processPath", "").endswith("python.exe")
    assert platform.get("arguments") == "app.py"
    assert platform.get("processesPerApplication") == "1"  # polling sessions need one process
    env = {e.get("name"): e.get("value") for e in platform.iter("environmentVariable")}
    assert env["PORT"] == "%HTTP_PLATFORM_PORT%"

    # The gateway accepts these settings, and the ping interval fits under requestTimeout.
    hours, minutes, seconds = (int(part) for part in platform.get("requestTimeout", "").split(":"))
    limit = hours * 3600 + minutes * 60 + seconds
    gateway_env = {k: v for k, v in env.items() if k.startswith("GATEWAY_")}
    profile = load_profile(environ={**gateway_env, "GATEWAY_HOST_IDLE_LIMIT": str(limit)})
    assert profile.name == "web-role"
    assert profile.transports == ("polling",) and not profile.offers_upgrade


def rendered_sites(directory: Path, confs: list[str]) -> None:
    """Render ``confs`` into ``directory``, each listening on its own port (8081, 8082, ...)."""
    directory.mkdir(parents=True)
    for port, name in enumerate(confs, start=8081):
        (directory / name).write_text(render(name, listen=f"127.0.0.1:{port}", **PLACEHOLDERS))


def assert_nginx_t_passes(prefix: Path, site: Path | str) -> None:
    result = nginx_test(write_main_conf(prefix, site), prefix)
    assert result.returncode == 0, result.stderr
    assert "[emerg]" not in result.stderr, result.stderr
    assert "duplicate" not in result.stderr, result.stderr
    assert "conflicting server name" not in result.stderr, result.stderr


def test_deploy_nginx_has_conf_files():
    assert {"websocket.conf", "no-websocket.conf", "sticky-sid.conf"} <= set(NGINX_CONFS)


@pytest.mark.parametrize("conf", NGINX_CONFS)
def test_nginx_conf_alone_passes_nginx_t(conf, tmp_path):
    rendered_sites(tmp_path / "conf.d", [conf])
    assert_nginx_t_passes(tmp_path, tmp_path / "conf.d" / conf)


def test_all_nginx_confs_included_together_pass_nginx_t(tmp_path):
    """Users drop several of them into one conf.d/: their upstreams must not collide."""
    rendered_sites(tmp_path / "conf.d", NGINX_CONFS)
    assert_nginx_t_passes(tmp_path, tmp_path / "conf.d" / "*.conf")


def test_nginx_confs_define_no_upstream_or_map_variable_twice():
    """nginx rejects a duplicate upstream, but a second map of the same variable silently replaces
    the first, so one file's map would route another file's requests."""
    names: Counter[str] = Counter()
    for conf in NGINX_CONFS:
        text = (NGINX_CONFIGS / conf).read_text()
        names.update(f"upstream {name}" for name in re.findall(r"^\s*upstream\s+(\w+)", text, re.M))
        names.update(f"map {var}" for var in re.findall(r"^\s*map\s+\S+\s+(\$\w+)", text, re.M))
    assert names, "found no upstream or map in deploy/nginx/"
    assert [name for name, count in names.items() if count > 1] == []
