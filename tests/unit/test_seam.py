"""Every private name of python-engineio and python-socketio the seam relies on is still there.

When a pinned version moves one, this fails and names it, before any end-to-end test has to
guess why. seam/__init__.py lists them; docs/decisions.md says why each is needed.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import engineio
import pytest
import socketio
from engineio import socket as engineio_socket

from seam import PRIVATE_NAMES
from serving import PYWSGI_MODULE_NAMES, PYWSGI_NAMES, SERVER_NAMES

ROOT = Path(__file__).resolve().parents[2]


def instance(where: str) -> object:
    """The object a PRIVATE_NAMES entry names: a class, or ``Class()`` for a fresh instance."""
    if where == "socketio.Server()":
        return socketio.Server(async_mode="threading")
    if where == "socketio.RedisManager()":
        return socketio.RedisManager("redis://127.0.0.1:1/0")  # connects only when used
    if where == "socketio.Manager()":
        return socketio.Manager()
    if where == "engineio.Server()":
        return engineio.Server(async_mode="threading")
    if where == "engineio.socket.Socket()":
        return engineio_socket.Socket(engineio.Server(async_mode="threading"), "sid")
    module, _, name = where.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    ("where", "name", "why"), PRIVATE_NAMES, ids=[f"{w}.{n}" for w, n, _ in PRIVATE_NAMES]
)
def test_the_pinned_libraries_still_have_it(where, name, why):
    if where == "simple_websocket.ws.Base()":  # an instance needs a live socket: read its __init__
        import inspect

        from simple_websocket.ws import Base

        assert f"self.{name} = " in inspect.getsource(Base.__init__), (
            f"{where} has no {name} any more ({why})"
        )
        return
    assert hasattr(instance(where), name), f"{where} has no {name} any more ({why}): see seam/__init__.py"


def test_only_the_seam_touches_the_libraries_internals():
    """No module outside seam/ uses a name from PRIVATE_NAMES on anything."""
    private = {name for _, name, _ in PRIVATE_NAMES if name.startswith("_")} | {"sockets", "packet_class"}
    found = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in ("seam", "tests", "bench", ".venv", "node_modules"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                found.append(f"{relative}:{node.lineno} .{node.attr}")
    assert not found, found


@pytest.mark.parametrize(("name", "why"), PYWSGI_NAMES, ids=[name for name, _ in PYWSGI_NAMES])
def test_the_pinned_pywsgi_still_has_it(name, why):
    from gevent.pywsgi import WSGIHandler

    assert hasattr(WSGIHandler, name), (
        f"gevent.pywsgi.WSGIHandler has no {name} any more ({why}): see serving/"
    )


@pytest.mark.parametrize(("name", "why"), PYWSGI_MODULE_NAMES, ids=[n for n, _ in PYWSGI_MODULE_NAMES])
def test_the_pinned_pywsgi_module_still_has_it(name, why):
    from gevent import pywsgi

    assert hasattr(pywsgi, name), f"gevent.pywsgi has no {name} any more ({why}): see serving/"


@pytest.mark.parametrize(("name", "why"), SERVER_NAMES, ids=[name for name, _ in SERVER_NAMES])
def test_the_pinned_pywsgi_server_still_has_it(name, why):
    from gevent.pywsgi import WSGIServer

    assert hasattr(WSGIServer, name), f"gevent.pywsgi.WSGIServer has no {name} any more ({why}): see serving/"
