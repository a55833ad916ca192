"""Page and host safety decisions, no server: headers, Host matching, JSONP, ProxyFix hop counting."""

from __future__ import annotations

import json
import re

import pytest

from config import ConfigError, load_profile
from ops.address import behind_proxies, client_address
from page import security_headers
from transports import classify
from transports.gate import TransportGate, refusal
from transports.hosts import host_allowed, own_origins

WORKER = load_profile("worker-role", environ={})


def profile(**environ: str):  # noqa: ANN201
    return load_profile("worker-role", environ={f"GATEWAY_{k.upper()}": v for k, v in environ.items()})


def environ(path: str = "/socket.io/", query: str = "EIO=4&transport=polling", **headers: str) -> dict:
    return {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": "chat.example.com",
        "REMOTE_ADDR": "10.0.0.2",
        "wsgi.url_scheme": "http",
        **headers,
    }


def through(gate_profile, env: dict, hops: int | None = None) -> tuple[str, dict, dict]:  # noqa: ANN001
    """Call ProxyFix + the gate as app.py stacks them; returns (status, the environ the app saw, body)."""
    seen: dict = {}

    def app(env: dict, start_response):  # noqa: ANN001, ANN202
        seen.update(env)
        start_response("200 OK", [])
        return [b"{}"]

    stack = behind_proxies(
        TransportGate(app, gate_profile, "socket.io"), gate_profile.proxy_hops if hops is None else hops
    )
    answered: dict = {}
    body = b"".join(stack(env, lambda status, headers: answered.update(status=status)))
    return answered["status"], seen, json.loads(body)


# --- headers ---------------------------------------------------------------------------------------


def test_default_headers_forbid_framing_inline_script_and_sniffing():
    headers = security_headers(WORKER)
    csp = dict(d.split(" ", 1) for d in headers["Content-Security-Policy"].split("; "))
    assert csp["script-src"] == "'self'" and "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_named_frame_ancestors_go_into_the_csp_and_x_frame_options_is_left_out():
    headers = security_headers(profile(frame_ancestors="https://portal.example.com, 'self'"))
    assert "frame-ancestors https://portal.example.com 'self'" in headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in headers
    assert security_headers(profile(frame_ancestors="self"))["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize(
    "path", ["/", "/static/chat.js", "/static/page.css", "/vendor/socket.io.min.js", "/nope"]
)
def test_every_flask_answer_carries_the_headers(make_app, path):
    response = make_app().test_client().get(path)
    assert response.headers["X-Frame-Options"] == "DENY", path
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_has_no_inline_script_only_a_json_data_block(make_app):
    """What script-src 'self' allows: scripts by src, and a JSON data block (never executed)."""
    html = make_app().test_client().get("/").get_data(as_text=True)
    tags = re.findall(r"<script[^>]*>", html)
    assert tags and all(" src=" in tag or 'type="application/json"' in tag for tag in tags), tags
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler attribute"
    assert "style=" not in html and "<style" not in html


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("*", "any site"),
        ("none, self", "cannot be combined"),
        ("https://portal.example.com/", "no path"),
        ("portal.example.com", "not an origin"),
        ("", "name 'none'"),
    ],
)
def test_bad_frame_ancestors_stop_start_up(value, words):
    with pytest.raises(ConfigError, match=words):
        profile(frame_ancestors=value)


# --- hosts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed", "expected"),
    [
        ("anything.example", (), True),
        ("anything.example", ("*",), True),
        ("chat.example.com", ("chat.example.com",), True),
        ("Chat.Example.COM:8443", ("chat.example.com",), True),  # no port in the pattern: any port
        ("chat.example.com.", ("chat.example.com",), True),
        ("chat.example.com:8443", ("chat.example.com:443",), False),
        ("chat.example.com", ("chat.example.com:443",), False),
        ("a.example.com", ("*.example.com",), True),
        ("a.b.example.com:80", ("*.example.com",), True),
        ("example.com", ("*.example.com",), False),
        ("evilexample.com", ("*.example.com",), False),
        ("example.com.evil.example", ("example.com",), False),
        ("[::1]:8080", ("[::1]",), True),
        ("127.0.0.1:5000", ("127.0.0.1:5000", "chat.example.com"), True),
        ("", ("chat.example.com",), False),
    ],
)
def test_host_matching(host, allowed, expected):
    assert host_allowed(host, allowed) is expected


@pytest.mark.parametrize(
    "value", ["https://chat.example.com", "chat.example.com/x", "a b", "x.com:0", "x.com:99999"]
)
def test_bad_allowed_hosts_stop_start_up(value):
    with pytest.raises(ConfigError, match="is not a host"):
        profile(allowed_hosts=value)


@pytest.mark.parametrize("path", ["/", "/healthz", "/socket.io/"])
def test_a_host_outside_allowed_hosts_is_refused_on_every_path(path):
    status, seen, body = through(
        profile(allowed_hosts="chat.example.com"), environ(path, HTTP_HOST="evil.example")
    )
    assert status == "400 BAD REQUEST" and body["code"] == "host_not_allowed" and not seen
    status, seen, _ = through(profile(allowed_hosts="chat.example.com"), environ(path))
    assert status == "200 OK" and seen


def test_own_origins_are_the_scheme_and_host_as_given_with_or_without_the_default_port():
    assert own_origins(environ()) == {"http://chat.example.com"}
    assert own_origins(environ(HTTP_HOST="Chat.Example.com:443", **{"wsgi.url_scheme": "https"})) == {
        "https://chat.example.com:443",
        "https://chat.example.com",
    }
    assert own_origins(environ(HTTP_X_FORWARDED_HOST="evil.example")) == {"http://chat.example.com"}
    assert own_origins({}) == set()


# --- JSONP -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["EIO=4&transport=polling&j=0", "EIO=4&transport=polling&j=", "j=1&EIO=4"])
def test_jsonp_is_refused_unless_the_profile_turns_it_on(query):
    request = environ(query=query)
    assert refusal(request, classify(request), WORKER).code == "jsonp_not_allowed"
    assert refusal(request, classify(request), profile(allow_jsonp="true")) is None


def test_jsonp_refusal_through_the_gate_names_its_code():
    status, seen, body = through(WORKER, environ(query="EIO=4&transport=polling&j=0"))
    assert (status, body["code"], seen) == ("400 BAD REQUEST", "jsonp_not_allowed", {})


# --- ProxyFix: hop counting, through the gate --------------------------------------------------------


def test_one_hop_trusts_the_last_forwarded_values_only():
    env = environ(HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", HTTP_X_FORWARDED_PROTO="https")
    _, seen, _ = through(WORKER, env)
    assert client_address(seen) == "198.51.100.7"  # the client's own claim, 203.0.113.9, is ignored
    assert seen["wsgi.url_scheme"] == "https"


def test_two_hops_trust_two_values_and_too_few_values_trust_none():
    env = environ(HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", HTTP_X_FORWARDED_PROTO="https,http")
    _, seen, _ = through(WORKER, env, hops=2)
    assert client_address(seen) == "203.0.113.9" and seen["wsgi.url_scheme"] == "https"
    _, seen, _ = through(WORKER, environ(HTTP_X_FORWARDED_FOR="203.0.113.9"), hops=2)
    assert client_address(seen) == "10.0.0.2"


def test_zero_hops_ignore_every_forwarded_header():
    env = environ(
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="evil.example",
    )
    _, seen, _ = through(profile(proxy_hops="0"), env)
    assert client_address(seen) == "10.0.0.2"
    assert seen["wsgi.url_scheme"] == "http" and seen["HTTP_HOST"] == "chat.example.com"


def test_a_trusted_proxys_scheme_makes_the_https_page_same_origin():
    env = environ(HTTP_ORIGIN="https://chat.example.com", HTTP_X_FORWARDED_PROTO="https")
    assert through(WORKER, dict(env))[0] == "200 OK"
    status, _, body = through(profile(proxy_hops="0"), dict(env))
    assert (status, body["code"]) == ("400 BAD REQUEST", "origin_not_allowed")


@pytest.mark.parametrize("hops", [0, 1, 2])
def test_x_forwarded_host_never_makes_a_foreign_origin_same_origin(hops):
    env = environ(
        HTTP_ORIGIN="https://evil.example",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_X_FORWARDED_PROTO="https, https",
    )
    status, seen, body = through(WORKER, env, hops=hops)
    assert (status, body["code"]) == ("400 BAD REQUEST", "origin_not_allowed")


def test_x_forwarded_host_does_not_get_past_allowed_hosts():
    env = environ(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="chat.example.com")
    status, _, body = through(profile(allowed_hosts="chat.example.com"), env)
    assert (status, body["code"]) == ("400 BAD REQUEST", "host_not_allowed")


def test_x_forwarded_port_does_not_change_the_host():
    """Heroku and the AWS ALB send X-Forwarded-Port: 443; as host:443 it would not match the Origin."""
    env = environ(
        HTTP_ORIGIN="https://chat.example.com", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_PORT="443"
    )
    status, seen, _ = through(WORKER, env)
    assert status == "200 OK" and seen["HTTP_HOST"] == "chat.example.com"


def test_the_page_may_fetch_its_sign_in_endpoint_on_another_origin_and_nothing_else():
    from config import load_profile
    from page import security_headers

    plain = security_headers(load_profile("worker-role", environ={}))["Content-Security-Policy"]
    assert "connect-src 'self';" in plain
    elsewhere = load_profile(
        "worker-role", environ={}, settings={"auth_token_url": "https://www.example.com:8443/chat-token"}
    )
    csp = security_headers(elsewhere)["Content-Security-Policy"]
    assert "connect-src 'self' https://www.example.com:8443;" in csp
    same_site = load_profile("worker-role", environ={}, settings={"auth_token_url": "/chat-token"})
    assert "connect-src 'self';" in security_headers(same_site)["Content-Security-Policy"]
