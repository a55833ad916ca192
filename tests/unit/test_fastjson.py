"""The JSON codec refuses what would recurse out of the stack, and the decoder answers it."""

from __future__ import annotations

import pytest
from socketio import packet

from seam import fastjson
from seam.server import REFUSED_EVENT, CheckedPacket, GuardedServer, Refusal, RefusedValue


@pytest.mark.parametrize("depth", [fastjson.MAX_DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_too_deep_not_a_recursion_error(depth):
    with pytest.raises(fastjson.TooDeep, match="nested deeper"):
        fastjson.loads("[" * depth + "]" * depth)


def test_nesting_within_the_limit_and_the_stdlib_fallback_still_parse():
    depth = fastjson.MAX_DEPTH
    assert fastjson.loads("[" * depth + "]" * depth) is not None
    assert fastjson.loads('"\\ud800"') == "\ud800"  # orjson refuses it; the handlers answer it
    assert fastjson.loads("NaN") != fastjson.loads("NaN")


def decoded(encoded: str) -> CheckedPacket:
    pkt = CheckedPacket()
    pkt.json = fastjson
    pkt.decode(encoded)
    return pkt


def test_an_event_with_an_ack_and_too_deep_data_decodes_to_a_refusal():
    pkt = decoded('27["join",' + "[" * 5000 + "]" * 5000 + "]")
    assert pkt.packet_type == packet.EVENT and pkt.id == 7
    assert pkt.data[0] == REFUSED_EVENT and isinstance(pkt.data[1], Refusal)


def test_the_refusal_is_answered_bad_request():
    server = GuardedServer(async_mode="threading")
    ack = server._trigger_event(REFUSED_EVENT, "/", "sid1", Refusal("JSON nested deeper than 1024 levels"))
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request"


def test_a_client_naming_the_refused_event_gets_no_answer_from_it():
    server = GuardedServer(async_mode="threading")
    assert server._trigger_event(REFUSED_EVENT, "/", "sid1", "forged") is server.not_handled


def test_too_deep_data_without_an_ack_is_a_refused_value():
    with pytest.raises(RefusedValue) as refused:
        decoded('2["join",' + "[" * 5000 + "]" * 5000 + "]")
    assert refused.value.code == "bad_request"
