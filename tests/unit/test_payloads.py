"""What a client sends is checked before anything acts on it: bad values are refused with a code."""

from __future__ import annotations

import pytest

from chat.errors import BAD_REQUEST, INVALID_NAME, INVALID_PAYLOAD, INVALID_ROOM, ChatError
from chat.limits import within_bytes
from chat.payloads import MAX_ID, Join, Post, invisible


def refusal(parse, *args) -> str:  # noqa: ANN001
    with pytest.raises(ChatError) as refused:
        parse(*args)
    assert refused.value.message and "Traceback" not in refused.value.message
    return refused.value.code


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"room": "r\ud800", "name": "ann"}, BAD_REQUEST),
        ({"room": "r", "name": "\udfffann"}, BAD_REQUEST),
        ({"room": "r", "name": "ann", "since": -1}, BAD_REQUEST),
        ({"room": "r", "name": "ann", "since": MAX_ID + 1}, BAD_REQUEST),
        ({"room": "r", "name": "ann", "since": 2**64}, BAD_REQUEST),
        ({"room": "r", "name": "ann", "since": 1.8446744073709552e19}, BAD_REQUEST),  # how 2**64 parses
        ({"room": "r", "name": "ann", "since": 1.5}, INVALID_PAYLOAD),
        ({"room": "r", "name": "ann", "since": float("inf")}, INVALID_PAYLOAD),
        ({"room": "r", "name": "ann", "since": True}, INVALID_PAYLOAD),
        ({"room": "r", "name": "ann\u202e"}, INVALID_NAME),
        ({"room": "r", "name": "\u2066ann\u2069"}, INVALID_NAME),
        ({"room": "r", "name": "a\u200bnn"}, INVALID_NAME),
        ({"room": "r", "name": "ann\u200e"}, INVALID_NAME),
        ({"room": "r", "name": "\ufeffann"}, INVALID_NAME),
        ({"room": "r\u202e", "name": "ann"}, INVALID_ROOM),
    ],
)
def test_bad_joins_are_refused_with_their_code(data, code):
    assert refusal(Join.parse, data) == code


def test_since_may_be_any_id_sqlite_can_hold():
    assert Join.parse({"room": "r", "name": "ann", "since": MAX_ID}).since == MAX_ID
    assert Join.parse({"room": "r", "name": "ann", "since": 0}).since == 0
    assert Join.parse({"room": " r ", "name": "ann"}) == Join("r", "ann", None)


def test_a_bidi_refusal_names_the_character():
    with pytest.raises(ChatError) as refused:
        Join.parse({"room": "r", "name": "ann\u202e"})
    assert "U+202E" in refused.value.message and "direction-changing" in refused.value.message


@pytest.mark.parametrize(
    "data",
    [
        {"room": "r", "text": "hi \ud800", "client_id": "c"},
        {"room": "r", "text": "hi", "client_id": "c\ud83d"},
        {"room": "r\udc00", "text": "hi", "client_id": "c"},
    ],
)
def test_a_lone_surrogate_anywhere_in_a_message_is_bad_request(data):
    assert refusal(Post.parse, data, 2000) == BAD_REQUEST


def test_direction_marks_and_paired_surrogates_in_a_text_are_kept():
    text = "\u202eolleh \U0001f600 \u2067x\u2069"
    assert Post.parse({"room": "r", "text": text, "client_id": "c"}, 2000).text == text


def test_invisible_finds_format_characters_only():
    assert invisible("ann") is None
    assert invisible("\u05d0\u05d1") is None  # right-to-left letters are letters
    assert invisible("a\u2068b") == "U+2068"


@pytest.mark.parametrize(
    ("sizes", "most", "newest", "count"),
    [
        ([10, 10, 10], 100, False, 3),
        ([10, 10, 10], 25, False, 2),
        ([10, 10, 10], 20, False, 2),
        ([500, 10], 100, False, 1),  # never fewer than one: a replay always moves on
        ([10, 10, 500], 100, True, 1),
        ([500, 10, 10], 25, True, 2),
        ([], 10, False, 0),
    ],
)
def test_a_replay_keeps_what_fits_in_its_bytes(sizes, most, newest, count):
    assert within_bytes(sizes, most, newest) == count
