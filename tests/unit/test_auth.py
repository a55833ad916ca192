"""Token verification and room globs: tokens and keys are made here, in the test."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from auth import TOKEN_EXPIRED, UNAUTHORIZED, TokenError, Verifier, mint, name_key, room_allowed
from auth.keys import load_public_key, verifier_for
from auth.tokens import LEEWAY, MAX_NAME
from config import ConfigError, load_profile

SECRET = "s" * 40


def refused(verifier: Verifier, token: object) -> TokenError:
    with pytest.raises(TokenError) as caught:
        verifier.verify(token)
    return caught.value


def public_pem(private_key) -> str:  # noqa: ANN001
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_good_hs256_token_gives_sub_name_and_rooms():
    identity = Verifier(secret=SECRET).verify(mint(SECRET, "alice", "Alice", ["team-*"], ttl=60))
    assert (identity.sub, identity.name, identity.rooms) == ("alice", "Alice", ("team-*",))
    assert identity.may_enter("team-red") and not identity.may_enter("ops")
    assert identity.expires == pytest.approx(time.time() + 60, abs=2)


def test_name_defaults_to_sub_and_no_rooms_claim_allows_any_room():
    identity = Verifier(secret=SECRET).verify(mint(SECRET, "bob"))
    assert identity.name == "bob" and identity.rooms is None and identity.may_enter("anything")


@pytest.mark.parametrize(
    "token",
    [None, "", 42, "not-a-jwt", "a.b.c", mint("x" * 40, "alice"), mint(SECRET, "alice")[:-3] + "AAA"],
    ids=["none", "empty", "number", "garbage", "three-parts", "other-secret", "tampered"],
)
def test_missing_malformed_and_forged_tokens_are_unauthorized(token):
    error = refused(Verifier(secret=SECRET), token)
    assert error.code == UNAUTHORIZED
    assert SECRET not in error.message and (
        not isinstance(token, str) or not token or token not in error.message
    )


def test_expired_beyond_the_leeway_is_token_expired_within_it_is_accepted():
    verifier = Verifier(secret=SECRET)
    assert refused(verifier, mint(SECRET, "alice", ttl=-(LEEWAY + 5))).code == TOKEN_EXPIRED
    assert verifier.verify(mint(SECRET, "alice", ttl=-(LEEWAY - 5))).sub == "alice"


@pytest.mark.parametrize(
    "claims", [{"sub": "alice"}, {"exp": int(time.time()) + 60}], ids=["no-exp", "no-sub"]
)
def test_exp_and_sub_are_required(claims):
    assert (
        refused(Verifier(secret=SECRET), jwt.encode(claims, SECRET, algorithm="HS256")).code == UNAUTHORIZED
    )


def test_audience_and_issuer_are_checked_only_when_set():
    token = mint(SECRET, "alice", audience="chat", issuer="https://app.example.com")
    assert Verifier(secret=SECRET).verify(token).sub == "alice"
    assert Verifier(secret=SECRET, audience="chat", issuer="https://app.example.com").verify(token)
    wrong_aud = refused(Verifier(secret=SECRET, audience="billing"), token)
    assert wrong_aud.code == UNAUTHORIZED and "aud" in wrong_aud.message
    assert refused(Verifier(secret=SECRET, issuer="https://evil.example"), token).code == UNAUTHORIZED
    assert refused(Verifier(secret=SECRET, audience="chat"), mint(SECRET, "alice")).code == UNAUTHORIZED


@pytest.mark.parametrize(
    "claims",
    [{"rooms": "team-*"}, {"rooms": [1]}, {"name": ""}, {"name": "x" * (MAX_NAME + 1)}, {"sub": ""}],
)
def test_badly_shaped_claims_are_unauthorized(claims):
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")
    assert refused(Verifier(secret=SECRET), token).code == UNAUTHORIZED


def test_rs256_and_es256_verify_with_the_public_key_only():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    claims = {"sub": "carol", "exp": int(time.time()) + 60}
    verifier = Verifier(public_key=load_public_key(public_pem(rsa_key)))
    assert verifier.verify(jwt.encode(claims, rsa_key, algorithm="RS256")).sub == "carol"
    assert Verifier(public_key=load_public_key(public_pem(ec_key))).verify(
        jwt.encode(claims, ec_key, algorithm="ES256")
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(verifier, jwt.encode(claims, other, algorithm="RS256")).code == UNAUTHORIZED
    # No secret configured: an HS256 token is refused, whatever it was signed with (no alg confusion).
    assert refused(verifier, jwt.encode(claims, "k" * 40, algorithm="HS256")).code == UNAUTHORIZED
    assert refused(verifier, jwt.encode(claims, None, algorithm="none")).code == UNAUTHORIZED


def test_public_key_from_a_file_or_escaped_pem(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "public.pem"
    path.write_text(public_pem(key))
    assert load_public_key(str(path)) is not None
    assert load_public_key(public_pem(key).replace("\n", "\\n")) is not None
    with pytest.raises(ConfigError, match="cannot read"):
        load_public_key(str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="PEM public key"):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")


def test_jwt_without_secret_or_key_is_a_start_up_error():
    with pytest.raises(ConfigError, match="GATEWAY_AUTH_SECRET"):
        verifier_for(load_profile(environ={"GATEWAY_AUTH": "jwt"}))
    assert verifier_for(load_profile(environ={})) is None
    verifier = verifier_for(load_profile(environ={"GATEWAY_AUTH": "jwt", "GATEWAY_AUTH_SECRET": SECRET}))
    assert SECRET not in repr(verifier)


def test_secrets_stay_out_of_errors_and_the_profiles_repr():
    profile = load_profile(environ={"GATEWAY_AUTH_SECRET": SECRET, "GATEWAY_API_KEY": "k" * 24})
    assert SECRET not in repr(profile) and "k" * 24 not in repr(profile)
    with pytest.raises(ConfigError) as caught:
        load_profile(environ={"GATEWAY_AUTH_SECRET": "short-secret"})
    assert "short-secret" not in str(caught.value) and "auth_secret" in str(caught.value)


def test_rolegate_config_masks_the_secrets(monkeypatch):
    from cli.show_config import render

    monkeypatch.setenv("GATEWAY_AUTH_SECRET", SECRET)
    monkeypatch.setenv("GATEWAY_API_KEY", "k" * 24)
    shown = render()
    assert SECRET not in shown and "k" * 24 not in shown and "auth_secret" in shown


@pytest.mark.parametrize(
    ("patterns", "room", "allowed"),
    [
        (None, "anything", True),
        ([], "lobby", False),
        (["team-*"], "team-red", True),
        (["team-*"], "Team-red", False),
        (["team-*"], "ops", False),
        (["lobby", "team-?"], "team-1", True),
        (["lobby", "team-?"], "team-12", False),
        (["room-[ab]"], "room-b", True),
        (["room-[ab]"], "room-c", False),
        (["*"], "x", True),
    ],
)
def test_room_globs(patterns, room, allowed):
    assert room_allowed(patterns, room) is allowed


def test_look_alike_names_share_a_key():
    assert name_key("Ａｎｎ") == name_key("ann") == name_key(" ANN ")
    assert name_key("ﬁona") == name_key("fiona")
    assert name_key("ann") != name_key("anne")


def test_token_name_limit_is_the_joins():
    from chat.identity import MAX_NAME as IDENTITY_MAX_NAME
    from chat.payloads import MAX_NAME as JOIN_MAX_NAME

    assert MAX_NAME == JOIN_MAX_NAME == IDENTITY_MAX_NAME


def test_rolegate_token_prints_a_token_the_gateway_accepts(monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("GATEWAY_AUTH_SECRET", SECRET)
    monkeypatch.setenv("GATEWAY_AUTH_AUDIENCE", "chat")
    assert main(["token", "--sub", "alice", "--name", "Alice", "--rooms", "team-*,lobby", "--ttl", "60"]) == 0
    printed = capsys.readouterr().out.strip()
    identity = Verifier(secret=SECRET, audience="chat").verify(printed)
    assert (identity.sub, identity.name, identity.rooms) == ("alice", "Alice", ("team-*", "lobby"))


def test_rolegate_token_without_a_secret_says_so(monkeypatch, capsys):
    from cli.main import main

    monkeypatch.delenv("GATEWAY_AUTH_SECRET", raising=False)
    assert main(["token", "--sub", "alice"]) == 2
    assert "GATEWAY_AUTH_SECRET" in capsys.readouterr().err


def test_a_client_id_is_scoped_to_the_senders_sub_else_to_the_name():
    from chat.identity import same_sender
    from chat.stores.history import Message

    def stored(name: str, sub: str = "") -> Message:
        return Message(1, "r", name, "t", 0, "c", 1, sub)

    assert same_sender(stored("Sam", "u1"), "u1", "Another Name")  # the name changed between tokens
    assert not same_sender(stored("Sam", "u1"), "u2", "Sam")  # two users, one name
    assert same_sender(stored("Ann"), "", "Ann")  # auth=none, or the API under one name
    assert not same_sender(stored("Ann"), "", "Bob")
    # Signed and unsigned senders never match: the API (no sub) named like a user's sub, and back.
    assert not same_sender(stored("Bot", "u1"), "", "u1")
    assert not same_sender(stored("u1"), "u1", "u1")
