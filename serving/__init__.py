"""The HTTP server under the gateway: gevent's pywsgi handler, made right for WebSockets and cheap.

This package is the one place that overrides or reads pywsgi's undocumented handler names.
``PYWSGI_NAMES`` lists them with the version pinned in requirements.txt, ``SERVER_NAMES`` those of
its server, ``PYWSGI_MODULE_NAMES`` the module's own; tests/unit/test_seam.py fails when a pinned
gevent moves one.
"""

from __future__ import annotations

#: (name on gevent.pywsgi.WSGIHandler, what we rely on), gevent 26.9.0.
PYWSGI_NAMES: tuple[tuple[str, str], ...] = (
    ("MessageClass", "overridden: reads the request's headers (http11.FastHeaders)"),
    ("_headers", "overridden: the environ's HTTP_* keys (http11.FastHeaders)"),
    ("_check_http_version", "overridden: HTTP/1.1 and 1.0 answered without parsing (http11.FastHeaders)"),
    ("_write_with_headers", "overridden: headers and a small body in one send (http11.FastResponses)"),
    ("_sendall", "overridden: one plain send first; counts the response's length as pywsgi's"),
    ("response_length", "the bytes sent, for the access log"),
    ("_write", "called for a body too large for one send, or chunked"),
    ("finalize_headers", "overridden: a Date header built once per second"),
    ("provided_date", "set by start_response; a Date we add is noted there"),
    ("response_use_chunked", "read: a chunked body is never sent with the headers"),
    ("headers_sent", "set when the headers go out"),
    ("_handle_client_error", "overridden: 431 for header floods (handler.ConnectionHygiene)"),
    ("read_requestline", "overridden: the wait ends when the process drains (draining.py)"),
    ("wsgi_input", "replaced on a closing connection, so no unread body is read out; set per common request"),
    ("handle_one_request", "overridden: a common request read in one method (request_loop.RequestLoop)"),
    ("handle_one_response", "called by RequestLoop once a common request's state and environ are set"),
    ("requestline", "set by RequestLoop, as read_request would (logs)"),
    ("command", "set by RequestLoop, as read_request would"),
    ("path", "set by RequestLoop, as read_request would"),
    ("request_version", "set by RequestLoop, as read_request would"),
    ("headers", "set by RequestLoop to the parsed RequestHeaders (access log)"),
    ("content_length", "set by RequestLoop, as read_request would"),
    ("close_connection", "set by RequestLoop from Connection: close, as read_request would"),
    ("environ", "set by RequestLoop, as get_environ's result would be"),
    ("application", "set by RequestLoop from the server, as handle_one_request would"),
)

#: (name in the gevent.pywsgi module, what we rely on), gevent 26.9.0.
PYWSGI_MODULE_NAMES: tuple[tuple[str, str], ...] = (
    ("Input", "a common request's wsgi.input (request_loop.RequestLoop)"),
    ("unquote_latin1", "PATH_INFO of a common request, as get_environ makes it"),
    ("MAX_REQUEST_LINE", "the request line's limit (414 past it), as read_requestline uses it"),
)

#: (name on gevent.pywsgi.WSGIServer, what we rely on), gevent 26.9.0.
SERVER_NAMES: tuple[tuple[str, str], ...] = (
    ("do_handle", "overridden: each connection spawned without a *args call (shallow.ShallowServer)"),
    ("_spawn", "read: the pool's spawn, as BaseServer.do_handle reads it"),
    ("do_close", "called: closes a connection's socket once its handler is done"),
)
