"""RFC 6455 (WebSocket) for the inline driver: a pure codec (``frames``), a sans-I/O server
protocol (``protocol``) and the gevent connection over it (``connection``).

Split so the protocol's rules are tested by feeding bytes (tests/unit/), not through a server.
"""
