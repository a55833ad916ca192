"""A shallow C stack under each connection's greenlet: what an idle WebSocket keeps parked.

A WebSocket's greenlet stays parked under every layer that called it for the connection's whole
life, and greenlet saves the C stack under the parked frame to the heap. CPython 3.11 runs a call
to a Python function or bound method in the caller's C frame, but a call through C starts a new
one, about 0.75 KiB each: an instance called through ``__call__`` (a WSGI middleware object),
``f(*args)`` (CALL_FUNCTION_EX), a Cython or functools callable. So the layers in front of a
WebSocket are called as bound methods of their ``__call__`` (app.py, ops/address.py,
seam/drivers.py), the server calls its application that way (``ShallowServer``), and spawns each
connection's greenlet without a ``*args`` call. docs/decisions.md has the figures.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


def direct_call(app: Callable) -> Callable:
    """``app.__call__`` as a bound method when ``app`` is an instance of a class with a Python
    ``__call__``: the same call, without a C frame of its own. Anything else is returned as is."""
    # Not a callable() test: whether the class's __call__ is a Python function (B004).
    if isinstance(getattr(type(app), "__call__", None), types.FunctionType):  # noqa: B004
        return app.__call__
    return app


def _serve(handle: Callable, close: Callable, sock: Any, address: Any) -> Any:
    """gevent's ``_handle_and_close_when_done``, with the arguments spelled out: its
    ``handle(*args_tuple)`` is a C frame under every connection's greenlet."""
    try:
        return handle(sock, address)
    finally:
        close(sock, address)


class ShallowServer:
    """Mixin for a gevent StreamServer (pywsgi's WSGIServer): calls without C frames of their own."""

    _spawn: Any
    application: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        # pywsgi's handler calls ``server.application(environ, start_response)`` (a Flask app).
        self.application = direct_call(self.application)

    def do_handle(self, sock: Any, address: Any) -> None:
        """gevent's BaseServer.do_handle, spawning ``_serve`` (no ``*args`` call in the greenlet)."""
        spawn = self._spawn
        handle = self.handle  # type: ignore[attr-defined]
        close = self.do_close  # type: ignore[attr-defined]
        try:
            if spawn is None:
                _serve(handle, close, sock, address)
            else:
                spawn(_serve, handle, close, sock, address)
        except:  # noqa: E722 (as gevent's: the socket is closed whatever went wrong, then re-raised)
            close(sock, address)
            raise
