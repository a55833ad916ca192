"""The Admin UI's settings: off by default, never on without credentials, the password never shown."""

from __future__ import annotations

import pytest

from cli.show_config import render
from config import ConfigError, load_profile
from ops.admin_ui import ADMIN_POLICY, credentials_check

PASSWORD = "correct horse battery"
ON = {"GATEWAY_ADMIN_UI": "true", "GATEWAY_ADMIN_USERNAME": "ops", "GATEWAY_ADMIN_PASSWORD": PASSWORD}


def test_it_is_off_and_read_only_by_default():
    profile = load_profile(environ={})
    assert profile.admin_ui is False and profile.admin_mode == "readonly"


@pytest.mark.parametrize("missing", ["GATEWAY_ADMIN_USERNAME", "GATEWAY_ADMIN_PASSWORD"])
def test_on_without_credentials_is_a_start_up_error(missing):
    environ = {k: v for k, v in ON.items() if k != missing}
    with pytest.raises(ConfigError, match=f"admin_ui is on but .* not set: set {missing}"):
        load_profile(environ=environ)


def test_a_short_password_is_refused_without_being_shown():
    with pytest.raises(ConfigError) as refused:
        load_profile(environ={**ON, "GATEWAY_ADMIN_PASSWORD": "hunter2"})
    assert "bad value (not shown) for admin_password: use at least 12 characters" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_rolegate_config_shows_it_on_with_the_password_masked(monkeypatch):
    for name, value in ON.items():
        monkeypatch.setenv(name, value)
    shown = render()
    assert PASSWORD not in shown
    lines = {line.split()[0]: line.split()[1:] for line in shown.splitlines()[1:] if line.strip()}
    assert lines["admin_ui"][0] == "true"
    assert lines["admin_password"][0] == "********"
    assert lines["admin_mode"][0] == "readonly"
    assert PASSWORD not in repr(load_profile(environ=ON))


def test_credentials_set_without_the_ui_are_a_warning():
    profile = load_profile(environ={"GATEWAY_ADMIN_USERNAME": "ops"})
    assert "admin_username has no effect: admin_ui is off" in profile.warnings()


def test_the_credentials_check_wants_both():
    check = credentials_check("ops", PASSWORD)
    assert check({"username": "ops", "password": PASSWORD})
    assert not check({"username": "ops", "password": PASSWORD + "x"})
    assert not check({"username": "op", "password": PASSWORD})
    assert not check(None) and not check("ops")


@pytest.fixture
def admin_app(make_app):
    app = make_app(**{"admin_ui": True, "admin_username": "ops", "admin_password": PASSWORD})
    yield app
    app.extensions["admin_ui"].uninstrument()  # it patched python-engineio's Socket class for the process


def test_only_the_admin_ui_may_use_inline_styles(admin_app):
    client = admin_app.test_client()
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert admin.headers["Content-Security-Policy"] == ADMIN_POLICY
    assert "https://" not in admin.get_data(as_text=True)  # no outside site: no CDN, no web font
    assert "'unsafe-inline'" not in client.get("/").headers["Content-Security-Policy"]
    assert client.get("/admin/js/../../../../package.json").status_code == 404
    assert client.get("/admin").status_code == 308


def test_off_means_no_admin_path(client):
    assert client.get("/admin/").status_code == 404
