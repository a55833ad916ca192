"""Transport doctor: does the profile in force fit the path to a deployed gateway?

    rolegate doctor https://chat.example.com [--origin https://www.example.com]

Through everything between you and the gateway (proxies, load balancers, the
host's router) it checks, like a browser would:
- the polling handshake, with an Origin header (is the origin accepted?);
- a WebSocket handshake (does the path pass `Upgrade`?);
- a long-poll held for the full ping interval (does the path cut idle requests?).
It prints one line per check, a verdict and the profile to use. Exit status: 0
when the profile in force (read from ``/policy``) fits the path, 1 when it does
not, 2 when the gateway could not be checked at all. It speaks HTTP with the
standard library only, and reads the gateway's refusals by their codes.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from config.hosts import longest_ping_interval
from transports.refusals import CODES, ORIGIN_NOT_ALLOWED, TRANSPORT_NOT_ALLOWED

#: Status codes proxies answer with when they cut or cannot reach the upstream.
CUT_STATUSES = {408, 499, 502, 503, 504, 520, 521, 522, 523, 524}


def oneline(text: str, limit: int = 160) -> str:
    """A response body as one short line (proxies answer with HTML pages), cut between words.

    A refusal by the gateway is shown by its message, whole.
    """
    code, refusal = refusal_of(text)
    if code is not None:
        return f"{refusal.get('message', '')} ({code})"
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0] + " …"


class Unreachable(Exception):
    """The gateway could not be checked at all."""


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not tried
    detail: str


@dataclass
class Report:
    url: str
    policy: dict
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    websocket_passes: bool | None = None
    idle_cut_after: float | None = None  # seconds, when the path cut an idle long-poll
    refused_origin: str | None = None

    def recommendation(self) -> str:
        """The profile (and settings) this path needs."""
        if not self.problems:
            return f"GATEWAY_PROFILE={self.policy.get('profile')} (the profile in force)"
        if self.refused_origin:
            return (
                f"GATEWAY_PROFILE={self.policy.get('profile')} GATEWAY_ALLOWED_ORIGINS={self.refused_origin}"
            )
        base = "worker-role" if self.websocket_passes else "web-role"
        if self.idle_cut_after is None:
            return f"GATEWAY_PROFILE={base}"
        limit = math.floor(self.idle_cut_after)
        ping = max(1, math.floor(longest_ping_interval(limit))) if limit >= 2 else 1
        return f"GATEWAY_PROFILE={base} GATEWAY_HOST_IDLE_LIMIT={limit} GATEWAY_PING_INTERVAL={ping}"


class Route:
    """HTTP requests to the gateway, through whatever is in front of it."""

    def __init__(self, url: str, origin: str | None, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Unreachable(f"{url!r} is not an http:// or https:// URL")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.base = parts.path.rstrip("/")
        self.origin = origin or f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=timeout or self.timeout)

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict | None = None, timeout: float = 0
    ) -> tuple[int, str]:
        conn = self.connection(timeout or None)
        try:
            conn.request(
                method, self.base + path, body=body, headers={"Origin": self.origin, **(headers or {})}
            )
            response = conn.getresponse()
            text = "" if response.status == 101 else response.read(65536).decode(errors="replace")
            return response.status, text
        finally:
            conn.close()


def read_policy(path: Route) -> dict:
    try:
        status, body = path.request("GET", "/policy")
    except OSError as exc:
        raise Unreachable(f"cannot reach {path.host}:{path.port}: {exc}") from None
    if status != 200:
        raise Unreachable(f"GET /policy answered HTTP {status}: is this a rolegate gateway? {body[:200]}")
    try:
        return json.loads(body)
    except ValueError:
        raise Unreachable(f"GET /policy did not answer JSON: {body[:200]}") from None


def refusal_of(body: str) -> tuple[str | None, dict]:
    """The gateway's refusal code and body (transports/refusals.py), or None for any other answer."""
    try:
        refusal = json.loads(body)
    except ValueError:
        return None, {}
    if isinstance(refusal, dict) and refusal.get("code") in CODES:
        return refusal["code"], refusal
    return None, {}


def engineio_path(policy: dict) -> str:
    return "/" + policy.get("path", "/socket.io/").strip("/") + "/"


def check_handshake(path: Route, policy: dict, report: Report) -> str | None:
    """Open a polling session; returns its sid."""
    try:
        status, body = path.request("GET", engineio_path(policy) + "?EIO=4&transport=polling")
    except OSError as exc:
        report.checks.append(Check("polling handshake", False, f"no answer: {exc}"))
        report.problems.append("the polling handshake got no answer")
        return None
    if status == 200 and body.startswith("0{"):
        report.checks.append(Check("polling handshake", True, f"origin {path.origin} accepted"))
        return json.loads(body[1:])["sid"]
    code, _ = refusal_of(body)
    if code == ORIGIN_NOT_ALLOWED:
        report.refused_origin = path.origin
        report.checks.append(
            Check("polling handshake", False, f"origin {path.origin} refused: {oneline(body)}")
        )
        report.problems.append(
            f"the gateway refuses the origin {path.origin}: add it to GATEWAY_ALLOWED_ORIGINS "
            "(or make the proxy forward Host with its port: nginx `proxy_set_header Host $http_host`)"
        )
    else:
        report.checks.append(Check("polling handshake", False, f"HTTP {status}: {oneline(body)}"))
        report.problems.append(f"the polling handshake failed with HTTP {status}")
    return None


def check_websocket(path: Route, policy: dict, report: Report) -> None:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
    }
    try:
        status, body = path.request(
            "GET", engineio_path(policy) + "?EIO=4&transport=websocket", headers=headers
        )
    except OSError as exc:
        status, body = 0, f"no answer: {exc}"
    if status == 101:
        report.websocket_passes = True
        report.checks.append(Check("websocket", True, "the path passes the WebSocket upgrade"))
        return
    code, refusal = refusal_of(body)
    if code == ORIGIN_NOT_ALLOWED:
        report.checks.append(Check("websocket", None, f"not tested: origin {path.origin} refused"))
        return
    if code == TRANSPORT_NOT_ALLOWED:
        arrived = refusal.get("upgrade_header") is True
        report.websocket_passes = True if arrived else None
        report.checks.append(
            Check(
                "websocket",
                None,
                "not allowed by the profile in force"
                + ("; the path does pass the Upgrade header" if arrived else ""),
            )
        )
        return
    report.websocket_passes = False
    reason = oneline(body) or "no body"
    report.checks.append(
        Check("websocket", False, f"the path does not pass WebSocket (HTTP {status}: {reason})")
    )
    if "websocket" in policy.get("transports", []):
        report.problems.append(
            "the path does not pass WebSocket, and the profile tries it: every connection pays a failed "
            "attempt first, and WebSocket-first clients without fallback never connect; use web-role (or "
            "the iis preset), or make the proxy pass Upgrade (deploy/nginx/websocket.conf)"
        )


def check_long_poll(path: Route, policy: dict, sid: str, report: Report) -> None:
    """Hold one long-poll for the full ping interval, the way an idle client does."""
    interval = policy.get("pingInterval", 25000) / 1000
    wait = interval + policy.get("pingTimeout", 20000) / 1000 + 5
    started = time.monotonic()
    try:
        status, body = path.request(
            "GET", engineio_path(policy) + f"?EIO=4&transport=polling&sid={sid}", timeout=wait
        )
    except OSError as exc:
        status, body = 0, f"connection ended: {exc}"
    held = time.monotonic() - started
    with contextlib.suppress(OSError):  # close the session: an Engine.IO close packet
        path.request("POST", engineio_path(policy) + f"?EIO=4&transport=polling&sid={sid}", body="1")
    if status == 200 and "2" in body[:2]:
        report.checks.append(Check("long-poll", True, f"held {held:.1f} s (the ping interval) and answered"))
        return
    cut = status in CUT_STATUSES or status == 0
    if cut and held < interval:
        report.idle_cut_after = held
        report.checks.append(
            Check(
                "long-poll", False, f"cut after {held:.1f} s (HTTP {status or 'none'}): {oneline(body, 80)}"
            )
        )
        report.problems.append(
            f"the path cuts a request idle for {held:.1f} s, but the profile holds an idle long-poll "
            f"{interval:g} s (its ping interval): clients reconnect over and over"
        )
    else:
        report.checks.append(
            Check("long-poll", False, f"after {held:.1f} s: HTTP {status}: {oneline(body, 80)}")
        )
        report.problems.append(f"the long-poll failed with HTTP {status}")


def diagnose(url: str, origin: str | None = None, timeout: float = 10) -> Report:
    path = Route(url, origin, timeout)
    policy = read_policy(path)
    report = Report(url, policy)
    transports = policy.get("transports", [])
    if "polling" in transports:
        sid = check_handshake(path, policy, report)
        check_websocket(path, policy, report)
        if sid:
            check_long_poll(path, policy, sid, report)
    else:
        check_websocket(path, policy, report)
        if report.websocket_passes is False:
            report.problems.append("the profile allows only WebSocket, and the path does not pass it")
    return report


def render(report: Report) -> str:
    policy = report.policy
    marks = {True: "ok  ", False: "FAIL", None: "--  "}
    lines = [
        f"rolegate doctor: {report.url}",
        f"profile in force: {policy.get('profile')} ({' then '.join(policy.get('transports', []))}, "
        f"ping interval {policy.get('pingInterval', 0) / 1000:g} s)",
    ]
    lines += [f"  {marks[c.ok]} {c.name}: {c.detail}" for c in report.checks]
    if report.problems:
        lines.append(f"verdict: the profile '{policy.get('profile')}' does NOT fit this path:")
        lines += [f"  - {problem}" for problem in report.problems]
    else:
        lines.append(f"verdict: the profile '{policy.get('profile')}' fits this path")
    lines.append(f"use: {report.recommendation()}")
    if not report.problems and report.websocket_passes and "websocket" not in policy.get("transports", []):
        lines.append("note: the path passes WebSocket, so worker-role would work here too and use it")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rolegate doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the gateway's public URL, e.g. https://chat.example.com")
    parser.add_argument("--origin", help="the origin of the page that connects (default: the URL's own)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for each quick request")
    args = parser.parse_args(argv)
    try:
        report = diagnose(args.url, args.origin, args.timeout)
    except Unreachable as exc:
        print(f"rolegate doctor: cannot check {args.url}: {exc}", file=sys.stderr)
        return 2
    print(render(report))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
