"""serving/shallow.py: the layers in front of a WebSocket are called without C frames of their own."""

from __future__ import annotations

import functools
import tracemalloc

import gevent
from gevent.event import Event

from serving.shallow import _serve, direct_call


class Layer:
    """A WSGI middleware object, as TransportGate and python-engineio's WSGIApp are."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def test_direct_call_is_the_same_call_as_a_bound_method():
    def app(environ, start_response):
        return [environ["x"]]

    layer = Layer(app)
    called = direct_call(layer)
    assert called == layer.__call__ and called({"x": b"1"}, None) == [b"1"]
    # Anything without a Python __call__ of its class is returned as it is.
    partial = functools.partial(app)
    assert direct_call(app) is app and direct_call(partial) is partial and direct_call(called) is called


def parked_stack_bytes(app) -> float:
    """Bytes of saved stack per greenlet parked inside ``app`` (tracemalloc, 50 greenlets)."""
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        greenlets = [gevent.spawn(app, {}, None) for _ in range(50)]
        gevent.sleep(0.01)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    parked.set()
    gevent.joinall(greenlets)
    parked.clear()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename")) / 50


parked = Event()


def test_layers_called_as_bound_methods_park_no_deeper():
    def leaf(environ, start_response):
        parked.wait()

    def stack(layers: int, wrap) -> object:
        app = leaf
        for _ in range(layers):
            app = wrap(Layer(app))
        return app

    parked_stack_bytes(stack(6, direct_call))  # warm up: first calls allocate caches
    shallow = parked_stack_bytes(stack(6, direct_call)) - parked_stack_bytes(stack(0, direct_call))
    deep = parked_stack_bytes(stack(6, lambda layer: layer)) - parked_stack_bytes(stack(0, direct_call))
    assert shallow < 400 < deep, (shallow, deep)


def test_serve_closes_the_connection_when_its_handler_is_done():
    closed = []
    assert _serve(lambda sock, address: "done", lambda *args: closed.append(args), "sock", "addr") == "done"
    assert closed == [("sock", "addr")]
