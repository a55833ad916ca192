"""The gateway's page seen from another origin: a forwarder on 127.0.0.2 that rewrites Host.

Like a reverse proxy configured with ``proxy_set_header Host $proxy_host``: the browser's origin is
``http://127.0.0.2:<port>``, the gateway sees its own address in Host, so the gate refuses the page's
Socket.IO requests with ``origin_not_allowed`` (a same-origin GET carries no Origin, so the polling
handshake passes and the first POST is refused; a WebSocket handshake always carries one).
Each request is forwarded on a connection of its own; WebSocket upgrades are passed as plain GETs.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OTHER_SITE = "127.0.0.2"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "upgrade",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "host",
}


class OtherOrigin:
    """``with OtherOrigin(gateway.port) as site:`` then browse ``site.url``."""

    def __init__(self, target_port: int) -> None:
        target = ("127.0.0.1", target_port)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: every Host is rewritten

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*target, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = forward  # noqa: N815 (http.server's names)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((OTHER_SITE, 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a page closed mid-poll: nothing to say
        self.url = f"http://{OTHER_SITE}:{self.server.server_address[1]}"

    def __enter__(self) -> OtherOrigin:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
