"""seam/query.py answers as urllib's parse_qs does, and python-engineio's server reads with it."""

from __future__ import annotations

import urllib.parse

import engineio.server
import pytest

from seam import query

QUERIES = [
    "",
    "EIO=4&transport=polling&t=PaB1c2d",
    "EIO=4&transport=polling&sid=abc_DEF-123&t=x",
    "a=1&a=2&b=3",
    "a=&b=1&c",
    "&&a=1&",
    "=x&a==b&%74ransport=websocket",
    "name=a+b&x=%2B",
    "j=0&EIO=4",
]


@pytest.mark.parametrize("text", QUERIES)
def test_the_same_answer_as_urllib(text):
    assert query.parse_qs(text) == urllib.parse.parse_qs(text)


def test_other_arguments_and_bytes_go_to_urllib():
    assert query.parse_qs("a=&b=1", keep_blank_values=True) == {"a": [""], "b": ["1"]}
    assert query.parse_qs(b"a=1") == {b"a": [b"1"]}


def test_python_engineio_reads_queries_with_it_once_a_server_is_made():
    from seam.server import GuardedServer

    GuardedServer(async_mode="threading")
    assert engineio.server.urllib.parse.parse_qs is query.parse_qs
