"""Profiles as data: built-ins, user files, environment overrides, socket.io 0.9 names."""

from __future__ import annotations

import pytest

from config import ConfigError, load_profile
from transports.options import client_options, server_options


def test_default_is_worker_role():
    profile = load_profile(environ={})
    assert profile.name == "worker-role"
    assert profile.transports == ("websocket", "polling")
    assert profile.offers_upgrade


def test_web_role_is_polling_only_with_a_10s_polling_duration():
    profile = load_profile("web-role", environ={})
    assert profile.transports == ("polling",)
    assert not profile.offers_upgrade
    assert profile.ping_interval == 10


def test_environment_overrides_one_setting_and_is_named_in_the_summary():
    profile = load_profile(environ={"GATEWAY_PROFILE": "web-role", "GATEWAY_PING_INTERVAL": "20"})
    assert profile.ping_interval == 20
    assert profile.transports == ("polling",)
    assert "from the environment: ping_interval" in profile.summary()


def test_socketio_09_names_still_work():
    profile = load_profile(
        environ={"GATEWAY_TRANSPORTS": "xhr-polling, websocket", "GATEWAY_POLLING_DURATION": "15"}
    )
    assert profile.transports == ("polling", "websocket")
    assert profile.ping_interval == 15


def test_user_profile_file_extends_a_builtin(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text(
        '[my-chat]\nextends = "worker-role"\n"polling duration" = 20\n'
        'transports = ["jsonp-polling"]\nallowed_origins = ["https://chat.example.com"]\n'
    )
    profile = load_profile("my-chat", environ={"GATEWAY_PROFILE_FILE": str(path)})
    assert profile.transports == ("polling",)
    assert profile.ping_interval == 20
    assert profile.allowed_origins == ("https://chat.example.com",)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"GATEWAY_PROFILE": "api-role"},
            "unknown profile 'api-role'; valid profiles: web-role, worker-role",
        ),
        ({"GATEWAY_PING_INTERVALL": "5"}, "unknown environment variable GATEWAY_PING_INTERVALL"),
        ({"GATEWAY_PING_INTERVAL": "0.5"}, "must be between 1 and 3600"),
        ({"GATEWAY_PING_INTERVAL": "soon"}, "bad value 'soon' for ping_interval"),
        ({"GATEWAY_UPGRADE": "maybe"}, "expected true or false"),
        ({"GATEWAY_TRANSPORTS": "htmlfile"}, "no longer exists in Engine.IO v4"),
        ({"GATEWAY_TRANSPORTS": "flashsocket"}, "use 'websocket'"),
        ({"GATEWAY_TRANSPORTS": "carrier-pigeon"}, "unknown transport 'carrier-pigeon'; valid names"),
        ({"GATEWAY_TRANSPORTS": "polling,xhr-polling"}, "named twice"),
        ({"GATEWAY_ASYNC_MODE": "asyncio"}, "must be one of: gevent, threading, eventlet"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(environ, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_profile(environ=environ)


def test_a_bad_metrics_token_is_refused_without_being_shown():
    with pytest.raises(ConfigError) as refused:
        load_profile(environ={"GATEWAY_METRICS_TOKEN": "hunter2 secret"})
    assert "bad value (not shown) for metrics_token: use at least 16 letters" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_the_metrics_token_stays_out_of_the_profile_repr():
    profile = load_profile(environ={"GATEWAY_METRICS_TOKEN": "a" * 24})
    assert profile.metrics_token == "a" * 24
    assert "a" * 24 not in repr(profile)


def test_user_profile_with_unknown_setting_is_refused(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[mine]\nextends = "web-role"\nclose_timeout = 5\n')
    with pytest.raises(ConfigError, match="profile 'mine': unknown setting 'close_timeout'"):
        load_profile("mine", environ={"GATEWAY_PROFILE_FILE": str(path)})


def test_user_profile_must_extend_a_builtin(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[mine]\nextends = "nothing"\n')
    with pytest.raises(ConfigError, match="must extend a built-in profile"):
        load_profile("mine", environ={"GATEWAY_PROFILE_FILE": str(path)})


def test_server_and_client_options_agree():
    for name in ("web-role", "worker-role"):
        profile = load_profile(name, environ={})
        server, client = server_options(profile), client_options(profile)
        assert server["transports"] == client["transports"]
        assert server["allow_upgrades"] == client["upgrade"]
        assert server["ping_interval"] * 1000 == client["pingInterval"]
        assert server["async_mode"] == "gevent"


def test_policy_endpoint_serves_the_client_options(client):
    policy = client.get("/policy").get_json()
    assert policy["profile"] == "worker-role"
    assert policy["transports"] == ["websocket", "polling"]
    assert policy["tryAllTransports"] is True


# --- host limits and presets ----------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "role", "limit"),
    [
        ("heroku", "worker-role", 30),
        ("azure-app-service", "worker-role", 230),
        ("aws-alb", "worker-role", 60),
        ("cloudflare", "worker-role", 100),
        ("nginx", "worker-role", 60),
        ("iis", "web-role", 120),
    ],
)
def test_host_presets_extend_a_role_and_fit_their_host(preset, role, limit):
    profile = load_profile(preset, environ={})
    base = load_profile(role, environ={})
    assert profile.transports == base.transports
    assert profile.host_idle_limit == limit
    assert profile.ping_interval <= limit * 0.8


def test_heroku_preset_pings_every_20s_under_its_30s_first_byte_limit():
    assert load_profile("heroku", environ={}).ping_interval == 20


def test_ping_interval_that_does_not_fit_the_host_is_refused_with_the_reason():
    with pytest.raises(ConfigError) as refused:
        load_profile("heroku", environ={"GATEWAY_PING_INTERVAL": "25"})
    message = str(refused.value)
    assert "ping_interval 25 s does not fit under host_idle_limit 30 s" in message
    assert "idle long-poll is held ping_interval seconds" in message
    assert "GATEWAY_PING_INTERVAL=24" in message


def test_host_idle_limit_from_the_environment_checks_the_role_default():
    with pytest.raises(ConfigError, match="ping_interval 25 s does not fit under host_idle_limit 20 s"):
        load_profile(environ={"GATEWAY_HOST_IDLE_LIMIT": "20"})
    fits = load_profile(environ={"GATEWAY_HOST_IDLE_LIMIT": "4", "GATEWAY_PING_INTERVAL": "3"})
    assert "host idle limit 4 s" in fits.summary()


def test_user_profile_may_extend_a_preset(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[my-heroku]\nextends = "heroku"\nallowed_origins = ["https://chat.example.com"]\n')
    profile = load_profile("my-heroku", environ={"GATEWAY_PROFILE_FILE": str(path)})
    assert profile.host_idle_limit == 30 and profile.ping_interval == 20


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GATEWAY_INSTANCE_TAG": "g-1"}, "use 1 to 16 letters or digits"),
        ({"GATEWAY_MESSAGE_QUEUE": "amqp://x"}, "expected a URL starting with redis://"),
    ],
)
def test_scale_out_settings_are_checked(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_profile(environ=environ)


def test_page_text_box_takes_no_more_than_the_server_accepts(make_app):
    page = make_app("worker-role", max_text_length=140).test_client().get("/").get_data(as_text=True)
    assert 'id="text"' in page and 'maxlength="140"' in page


def test_a_profile_file_may_not_redefine_a_builtin_name(tmp_path):
    """[heroku] in a user's file silently replaced the preset and its 30 s host limit."""
    path = tmp_path / "p.toml"
    path.write_text('[heroku]\nextends = "worker-role"\n')
    with pytest.raises(ConfigError, match=r"\[heroku\] is a built-in profile's name; pick a new name"):
        load_profile("heroku", environ={"GATEWAY_PROFILE_FILE": str(path)})


@pytest.mark.parametrize(
    ("origin", "fix"),
    [
        ("https://chat.example.com/", "write https://chat.example.com"),
        ("https://chat.example.com/chat", "write https://chat.example.com"),
        ("chat.example.com", "for example https://chat.example.com"),
        ("ftp://chat.example.com", "scheme://host[:port]"),
    ],
)
def test_an_origin_that_no_browser_sends_is_refused_with_the_fix(origin, fix):
    with pytest.raises(ConfigError, match="is not an origin") as refused:
        load_profile(environ={"GATEWAY_ALLOWED_ORIGINS": origin})
    assert fix in str(refused.value)


def test_origins_as_browsers_send_them_are_accepted():
    profile = load_profile(
        environ={"GATEWAY_ALLOWED_ORIGINS": "https://a.example.com, http://b.example:8080, *"}
    )
    assert profile.allowed_origins == ("https://a.example.com", "http://b.example:8080", "*")


def test_a_setting_with_no_effect_in_its_profile_is_a_warning():
    assert load_profile("web-role", environ={}).warnings() == []
    profile = load_profile("web-role", environ={"GATEWAY_UPGRADE": "true"})
    assert profile.warnings() == [
        "upgrade = true has no effect: profile 'web-role' allows only polling; an upgrade needs both "
        "polling and websocket in transports"
    ]


def test_each_value_says_where_it_came_from(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[my-heroku]\nextends = "heroku"\nmax_rooms = 3\n')
    profile = load_profile(
        "my-heroku",
        environ={"GATEWAY_PROFILE_FILE": str(path), "GATEWAY_MAX_TEXT_LENGTH": "100"},
        settings={"replay_limit": 7},
    )
    assert profile.sources["ping_timeout"] == "default"
    assert profile.sources["transports"] == "built-in profile 'worker-role'"
    assert profile.sources["host_idle_limit"] == "preset 'heroku'"
    assert profile.sources["max_rooms"] == f"profile file {path} [my-heroku]"
    assert profile.sources["max_text_length"] == "environment GATEWAY_MAX_TEXT_LENGTH"
    assert profile.sources["replay_limit"] == "create_app settings"
    assert (profile.max_rooms, profile.max_text_length, profile.replay_limit) == (3, 100, 7)


def test_profile_fields_are_the_settings_table():
    from dataclasses import fields

    from config import SETTINGS, Profile

    names = [f.name for f in fields(Profile)]
    assert names == ["name", "description", *(s.name for s in SETTINGS), "overridden", "sources"]
