"""A bug in a handler is told from a bad packet: ``internal_error`` with an incident id, never internals."""

from __future__ import annotations

import logging

import pytest

from chat.errors import INVALID_ROOM, ChatError
from chat.events import acked
from ops import metrics
from seam.server import CheckedPacket, GuardedServer, HandlerError, MalformedPacket


def errors_counted(code: str) -> float:
    return metrics.ERRORS.labels(code)._value.get()


def test_a_chat_error_is_its_ack():
    @acked
    def join(sid: str, data: object) -> dict:
        raise ChatError(INVALID_ROOM, "room must be a non-empty string")

    assert join("s1", {}) == {
        "ok": False,
        "error": {"code": "invalid_room", "message": "room must be a non-empty string"},
    }


def test_a_bug_is_internal_error_with_the_id_of_its_logged_traceback(caplog):
    @acked
    def message(sid: str, data: object) -> dict:
        return {"ok": True, "id": 1 // 0}

    before = errors_counted("internal_error")
    with caplog.at_level(logging.ERROR, logger="rolegate.chat"):
        ack = message("s1", {"room": "r"})
    assert ack["ok"] is False and ack["error"]["code"] == "internal_error"
    incident = ack["error"]["id"]
    assert incident in ack["error"]["message"]
    assert "ZeroDivisionError" not in ack["error"]["message"] and "Traceback" not in ack["error"]["message"]
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and logged[0].exc_info[0] is ZeroDivisionError
    assert errors_counted("internal_error") == before + 1


def test_extra_arguments_are_a_bad_request_and_a_missing_one_the_events_own_answer():
    seen = []

    @acked
    def leave(sid: str, data: object) -> dict:
        seen.append(data)
        raise ChatError(INVALID_ROOM, "no room")

    assert leave("s1", {"room": "r"}, "extra")["error"]["code"] == "bad_request"
    assert leave("s1")["error"]["code"] == "invalid_room"
    assert seen == [None]


@pytest.mark.parametrize("encoded", ["2[", '2["a",', "2{not json"])
def test_a_packet_that_does_not_decode_is_malformed(encoded):
    with pytest.raises(MalformedPacket):
        CheckedPacket(encoded_packet=encoded)


def test_an_unacked_handlers_exception_is_a_handler_error_not_a_bad_packet():
    sio = GuardedServer(async_mode="threading")

    @sio.on("boom")
    def boom(sid: str, *args: object) -> None:
        raise KeyError("a bug")

    with pytest.raises(HandlerError) as failure:
        sio._trigger_event("boom", "/", "sid", {})
    assert isinstance(failure.value.__cause__, KeyError)
    assert failure.value.incident in str(failure.value)
