"""The deploy/ files users copy: what they tell the gateway is what the gateway accepts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import ROOT

from config import load_profile


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
