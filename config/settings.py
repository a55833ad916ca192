"""Every setting a profile can carry: its type, default, range and meaning.

This table is the single source of truth. Profiles (``profiles.toml`` and
users' own files) list only what differs from these defaults, environment
variables are ``GATEWAY_`` + the upper-cased name, and the README's settings
table is checked against it by a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from config.transport_names import canonical_name

#: What each history store URL prefix means (chat/stores/ opens them).
STORE_KINDS: dict[str, str] = {"sqlite:///": "sqlite", "redis://": "redis", "rediss://": "redis"}
#: URL schemes python-socketio's RedisManager understands.
MESSAGE_QUEUE_SCHEMES = ("redis", "rediss", "redis+sentinel")


class ConfigError(ValueError):
    """A configuration the gateway refuses to start with; the message says why."""


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _words(raw: Any) -> tuple[str, ...]:
    """A list from TOML, or a comma-separated string from the environment."""
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _transports(raw: Any) -> tuple[str, ...]:
    names = tuple(canonical_name(word) for word in _words(raw))
    if not names:
        raise ValueError("name at least one transport")
    if len(set(names)) != len(names):
        raise ValueError(f"a transport is named twice: {', '.join(names)}")
    return names


def store_kind(url: str) -> str:
    """What a ``database_url`` names: ``sqlite`` or ``redis``. The one place a store URL is judged."""
    for prefix, kind in STORE_KINDS.items():
        if url.startswith(prefix):
            return kind
    raise ValueError(f"must start with one of: {', '.join(STORE_KINDS)}")


def _origin(word: str) -> str:
    """One allowed origin exactly as a browser sends it: ``scheme://host[:port]``, or ``*``."""
    if word == "*":
        return word
    parts = urlsplit(word if "://" in word else "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{word!r} is not an origin: write it as a browser sends it, scheme://host[:port], "
            f"for example https://{word.split('/')[0] or 'chat.example.com'}"
        )
    fixed = f"{parts.scheme}://{parts.netloc}"
    if word != fixed:
        raise ValueError(
            f"{word!r} is not an origin: an origin has no path, query or trailing slash; write {fixed}"
        )
    return word


def _origins(raw: Any) -> tuple[str, ...]:
    return tuple(_origin(word) for word in _words(raw))


def _frame_ancestor(word: str) -> str:
    """One CSP ``frame-ancestors`` source: ``'self'``, ``'none'`` (quotes optional), or an origin."""
    bare = word.strip("'\"").lower()
    if bare in ("self", "none"):
        return f"'{bare}'"
    if word == "*":
        raise ValueError("'*' would let any site frame the chat; name the origins that embed it")
    return _origin(word)


def _frame_ancestors(raw: Any) -> tuple[str, ...]:
    sources = tuple(dict.fromkeys(_frame_ancestor(word) for word in _words(raw)))
    if not sources:
        raise ValueError("name 'none', 'self' or the origins that may frame the page")
    if "'none'" in sources and len(sources) > 1:
        raise ValueError("'none' cannot be combined with other sources")
    return sources


#: One Host header pattern: a DNS name (or ``*.`` and a domain), an IPv4 address or a bracketed
#: IPv6 address, then an optional port.
_HOST = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\]")


def split_host(host: str) -> tuple[str, str]:
    """A Host header's name and port (``""`` if none): ``chat.example.com:8443``, ``[::1]:80``."""
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else rest
    name, _, port = host.partition(":") if host.count(":") == 1 else (host, "", "")
    return name, port


def _host(word: str) -> str:
    """One allowed Host header, as a browser sends it: ``host[:port]``, ``*.domain[:port]`` or ``*``."""
    value = word.lower().rstrip(".")
    if value == "*":
        return value
    if "://" in value or "/" in value:
        raise ValueError(
            f"{word!r} is not a host: write it as the Host header carries it, host[:port], "
            f"for example {urlsplit(word).netloc or 'chat.example.com'}"
        )
    name, port = split_host(value)
    if not _HOST.fullmatch(name) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(
            f"{word!r} is not a host: use a name (chat.example.com), *.example.com for its "
            "subdomains, or an address, each with an optional :port"
        )
    return value


def _hosts(raw: Any) -> tuple[str, ...]:
    return tuple(_host(word) for word in _words(raw))


def _database_url(raw: Any) -> str:
    url = str(raw).strip()
    store_kind(url)
    return url


def _number(kind: type, low: float, high: float) -> Callable[[Any], Any]:
    def parse(raw: Any) -> Any:
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        value = kind(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _tag(raw: Any) -> str:
    """An instance tag goes into every Engine.IO sid, so it must be URL-safe and short."""
    value = str(raw).strip()
    if value and not re.fullmatch(r"[A-Za-z0-9]{1,16}", value):
        raise ValueError("use 1 to 16 letters or digits (it is put into every session id)")
    return value


def _token(raw: Any) -> str:
    """A bearer token (RFC 6750's characters), long enough not to be guessed."""
    value = str(raw).strip()
    if value and not re.fullmatch(r"[A-Za-z0-9\-._~+/]{16,}=*", value):
        raise ValueError("use at least 16 letters, digits or -._~+/ (for example: openssl rand -hex 24)")
    return value


def _admin_username(raw: Any) -> str:
    value = str(raw).strip()
    if value and not re.fullmatch(r"[^\s\x00-\x1f\x7f]{1,64}", value):
        raise ValueError("use 1 to 64 characters, without spaces or control characters")
    return value


def _admin_password(raw: Any) -> str:
    value = str(raw)
    if value and len(value) < 12:
        raise ValueError("use at least 12 characters (for example: openssl rand -base64 18)")
    return value


def _message_queue(raw: Any) -> str:
    value = str(raw).strip()
    if value and urlsplit(value).scheme not in MESSAGE_QUEUE_SCHEMES:
        raise ValueError(
            f"expected a URL starting with {' or '.join(s + '://' for s in MESSAGE_QUEUE_SCHEMES)}"
        )
    return value


def _secret_key(raw: Any) -> str:
    """An HS256 secret: at least 32 characters (RFC 7518 3.2: a key as long as the hash)."""
    value = str(raw).strip()
    if value and len(value) < 32:
        raise ValueError("use at least 32 characters (for example: openssl rand -hex 32)")
    return value


def _public_key(raw: Any) -> str:
    """A PEM public key, or the path of a file holding one (read and checked at start-up)."""
    value = str(raw).strip()
    if value and not value.startswith("-----BEGIN") and "\n" in value:
        raise ValueError("expected a PEM (-----BEGIN PUBLIC KEY-----...) or the path of a .pem file")
    return value


def _text(raw: Any) -> str:
    return str(raw).strip()


def _same_site_url(raw: Any) -> str:
    """A path on the gateway's site (``/auth/token``) or an absolute http(s) URL of the same site."""
    value = str(raw).strip()
    if not value:
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return value
    raise ValueError("expected a path like /auth/token or a URL like https://chat.example.com/auth/token")


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of: {', '.join(choices)}")
        return value

    return parse


@dataclass(frozen=True)
class Setting:
    """One profile setting."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    doc: str
    secret: bool = False  # never echoed in an error message

    @property
    def env_var(self) -> str:
        return "GATEWAY_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "transports",
        _transports,
        ("websocket", "polling"),
        "Transports allowed, in the client's order of preference. socket.io 0.9 names "
        "`xhr-polling` and `jsonp-polling` mean `polling`.",
    ),
    Setting(
        "upgrade",
        _bool,
        True,
        "Offer an upgrade from polling to WebSocket (only when both are allowed).",
    ),
    Setting(
        "ping_interval",
        _number(float, 1, 3600),
        25.0,
        "Seconds between pings; also how long an idle long-poll is held "
        "(socket.io 0.9's `polling duration`).",
    ),
    Setting(
        "ping_timeout",
        _number(float, 1, 3600),
        20.0,
        "Seconds to wait for a pong before the connection counts as lost.",
    ),
    Setting(
        "max_message_bytes",
        _number(int, 1024, 100_000_000),
        1_000_000,
        "Largest Engine.IO payload (a polling POST or a WebSocket frame), in bytes.",
    ),
    Setting(
        "inbound_packets_per_second",
        _number(float, 1, 1_000_000_000),
        20_000.0,
        "Engine.IO packets one connection (a WebSocket, or a polling session) may send per second, on "
        "average; over it a WebSocket is closed with 1008 (`flood: ...`) and polling POSTs get 429 "
        "`flood`. Far above any honest client (the benchmark's lone client sends ~5,000 a second, each "
        "of 50 ~250; a noop flood ~100,000): it stops floods only; fairness between connections comes "
        "from taking turns.",
    ),
    Setting(
        "inbound_packet_burst",
        _number(int, 1, 1_000_000_000),
        40_000,
        "Engine.IO packets one connection may send at once before `inbound_packets_per_second` applies.",
    ),
    Setting(
        "inbound_bytes_per_second",
        _number(float, 1, 1_000_000_000_000),
        1_000_000.0,
        "Bytes one connection may send per second, on average (WebSocket bytes as read, frame headers "
        "included; polling POST bodies); over it, as `inbound_packets_per_second`.",
    ),
    Setting(
        "inbound_byte_burst",
        _number(int, 1, 1_000_000_000_000),
        4_000_000,
        "Bytes one connection may send at once before `inbound_bytes_per_second` applies (never less "
        "than `max_message_bytes`).",
    ),
    Setting(
        "allowed_origins",
        _origins,
        (),
        "Origins allowed besides the gateway's own (comma-separated); `*` allows any.",
    ),
    Setting(
        "frame_ancestors",
        _frame_ancestors,
        ("'none'",),
        "Who may show the page in a frame (CSP `frame-ancestors`, comma-separated): `'none'` (also sends "
        "`X-Frame-Options: DENY`), `'self'`, or the origins of the sites that embed the chat.",
    ),
    Setting(
        "allowed_hosts",
        _hosts,
        (),
        "Host headers the gateway answers (comma-separated `host[:port]`, `*.example.com` for its "
        "subdomains; a name without a port matches any port); any other gets 400 `host_not_allowed`, on "
        "every path. Empty: any host. Set it to stop DNS rebinding.",
    ),
    Setting(
        "proxy_hops",
        _number(int, 0, 10),
        1,
        "Proxies in front that set `X-Forwarded-For` and `X-Forwarded-Proto` (werkzeug's ProxyFix "
        "trusts that many values from the right): 1 behind Heroku's router, Azure's front end, an AWS "
        "ALB or one nginx; 0 when clients connect directly, or they can claim any address and scheme.",
    ),
    Setting(
        "allow_jsonp",
        _bool,
        False,
        "Answer Engine.IO's JSONP polling (`j=` in the query, loaded by a `<script>` tag, which sends "
        "no `Origin`, so any site can open a session). socket.io-client 4 never uses it; refused with "
        "`jsonp_not_allowed` unless on.",
    ),
    Setting(
        "async_mode",
        _choice("gevent", "threading", "eventlet"),
        "gevent",
        "Concurrency model: `gevent` (gunicorn's gevent worker), `threading` "
        "(gunicorn's gthread worker) or `eventlet` (`python app.py` only).",
    ),
    Setting(
        "worker_connections",
        _number(int, 1, 1_000_000),
        20_000,
        "Connections one gevent worker accepts (gunicorn's default of 1000 silently "
        "stops accepting past it).",
    ),
    Setting(
        "header_timeout",
        _number(float, 0.1, 3600),
        10.0,
        "Seconds a client has to send a request's line and headers, counted from the connection's "
        "start or from the first byte of a next request; past it the connection is closed (slowloris).",
    ),
    Setting(
        "keepalive_timeout",
        _number(float, 0.1, 3600),
        60.0,
        "Seconds an idle keep-alive connection waits for its next request before it is closed "
        "(responses say so in `Keep-Alive: timeout=N`). Over `ping_interval`, so a polling client's "
        "pong connection is kept.",
    ),
    Setting(
        "max_connections_per_address",
        _number(int, 0, 1_000_000),
        500,
        "Open connections one client address may hold; past it a request gets 429 "
        "`too_many_connections`. Room for an office behind one NAT; 0 = no cap.",
    ),
    Setting(
        "max_sessions_per_address",
        _number(int, 0, 1_000_000),
        500,
        "Open Engine.IO sessions one client address may hold; past it a new session gets 429 "
        "`too_many_sessions`; 0 = no cap.",
    ),
    Setting(
        "max_sessions",
        _number(int, 0, 10_000_000),
        10_000,
        "Open Engine.IO sessions this process holds; past it a new session gets 503 `server_full` "
        "(half of `worker_connections`: a polling session keeps two requests open); 0 = no cap.",
    ),
    Setting(
        "threads",
        _number(int, 2, 10_000),
        100,
        "Threads of the gthread worker in `threading` mode; each long-poll holds one.",
    ),
    Setting(
        "max_text_length",
        _number(int, 1, 100_000),
        2000,
        "Longest chat message text, in characters; longer gets the `text_too_long` error.",
    ),
    Setting(
        "max_rooms",
        _number(int, 1, 1000),
        10,
        "Rooms one connection may be in at once; more gets the `too_many_rooms` error.",
    ),
    Setting(
        "messages_per_second",
        _number(float, 0.01, 10_000),
        5.0,
        "Chat messages one connection may send per second, on average (a token bucket); "
        "over it gets the `rate_limited` error and the connection is kept.",
    ),
    Setting(
        "message_burst",
        _number(int, 1, 10_000),
        10,
        "Chat messages one connection may send at once before `messages_per_second` applies.",
    ),
    Setting(
        "replay_limit",
        _number(int, 1, 100_000),
        500,
        "Most messages a `join` with `since` replays at once (`truncated` says more are waiting).",
    ),
    Setting(
        "joins_per_second",
        _number(float, 0.01, 10_000),
        1.0,
        "`join`s (each one a replay) and `leave`s one connection may send per second, on average (a "
        "token bucket); over it gets `rate_limited`. The page joins once per connection and room.",
    ),
    Setting(
        "join_burst",
        _number(int, 1, 10_000),
        10,
        "`join`s and `leave`s one connection may send at once before `joins_per_second` applies.",
    ),
    Setting(
        "presence_grace",
        _number(float, 0, 3600),
        10.0,
        "Seconds a member whose connection ended stays in its rooms before they are told it left: "
        "back under the same name within it (a network blip, a failover), it was never gone, and "
        "nobody is told anything. 0 tells at once; a `leave` is always told at once.",
    ),
    Setting(
        "replay_max_bytes",
        _number(int, 1024, 100_000_000),
        1_000_000,
        "Most bytes of messages one `join` returns, as JSON; past it the replay is cut (at least one "
        "message is sent) and `truncated` says more are waiting.",
    ),
    Setting(
        "database_url",
        _database_url,
        "sqlite:///instance/rolegate.db",
        "Where chat history is kept: `sqlite:///relative/path.db` (to the project folder), "
        "`sqlite:////absolute/path.db`, or `redis://host:6379/0` to share it between processes.",
    ),
    Setting(
        "store_timeout",
        _number(float, 0.1, 600),
        5.0,
        "Seconds a history store call (store a message, read a replay) may take; past it, or when the "
        "store fails (disk full, read-only file, Redis down), the event's ack is the `unavailable` error.",
    ),
    Setting(
        "history_max_messages",
        _number(int, 0, 100_000_000),
        10_000,
        "Messages kept per room; older ones are deleted as new ones are stored. 0 = unlimited.",
    ),
    Setting(
        "history_max_age",
        _number(int, 0, 100 * 365 * 86400),
        30 * 86400,
        "Seconds a message is kept (default 30 days); older ones are deleted in the background. 0 = forever.",
    ),
    Setting(
        "host_idle_limit",
        _number(float, 0, 86400),
        0.0,
        "Seconds the host in front lets a request go without a response byte (Heroku 30, AWS ALB 60, "
        "nginx's `proxy_read_timeout` 60, Cloudflare 100, Azure 230; 0 = unknown). Start-up refuses a "
        "`ping_interval` that does not fit under it with a margin (see Host presets).",
    ),
    Setting(
        "instance_tag",
        _tag,
        "",
        "Put in front of every session id this process issues (`g1.xxxx`), so a proxy can route a "
        "session's requests back to it without cookies (`deploy/nginx/sticky-sid.conf`). Empty: no tag.",
    ),
    Setting(
        "metrics_token",
        _token,
        "",
        "If set, `GET /metrics` answers only a request with `Authorization: Bearer <token>` (in "
        "Prometheus: `authorization: {credentials: <token>}`), others get 401. Empty: open to anyone who "
        "can reach it; restrict it at your proxy. Set it in the environment, not in a profile file.",
        secret=True,
    ),
    Setting(
        "auth",
        _choice("none", "jwt"),
        "none",
        "Who may connect. `none`: anyone who passes the origin check, under any name they type (names are "
        "not verified). `jwt`: the Socket.IO connect must carry `auth: {token}`, a JWT signed with "
        "`auth_secret` (HS256) or `auth_public_key` (RS256/ES256); names and rooms come from its claims.",
    ),
    Setting(
        "auth_secret",
        _secret_key,
        "",
        "The HS256 secret tokens are signed with (at least 32 characters; `rolegate token` signs with it). "
        "Set it in the environment, not in a profile file.",
        secret=True,
    ),
    Setting(
        "auth_public_key",
        _public_key,
        "",
        "A PEM public key, or the path of a file holding one, that verifies RS256 or ES256 tokens.",
    ),
    Setting(
        "auth_audience",
        _text,
        "",
        "If set, a token's `aud` must name it. Empty: `aud` is not checked.",
    ),
    Setting(
        "auth_issuer",
        _text,
        "",
        "If set, a token's `iss` must be it. Empty: `iss` is not checked.",
    ),
    Setting(
        "auth_token_url",
        _same_site_url,
        "",
        'Where the page gets a token (`GET`, with the site\'s cookies, answering `{"token": "..."}`), '
        "again whenever one expires: a path of this site or a same-site URL. Empty: the page takes "
        "a token only from its address (`/#token=...`).",
    ),
    Setting(
        "api_key",
        _token,
        "",
        "Turns on the server API under `/api/` for your application's backend, which must send "
        "`Authorization: Bearer <key>`. Empty: the API is off (404). Set it in the environment.",
        secret=True,
    ),
    Setting(
        "message_queue",
        _message_queue,
        "",
        "`redis://host:port/db`: broadcasts (chat messages, presence) reach the clients of every gateway "
        "process through Redis (python-socketio's RedisManager). Empty: the `database_url` when that is "
        "Redis, else this process only.",
    ),
    Setting(
        "websocket_compression",
        _bool,
        False,
        "Accept permessage-deflate on WebSockets. Off by default: each compressing WebSocket keeps a "
        "zlib context of about 90 KiB while idle, and chat frames are too small to gain (bench/RESULTS.md).",
    ),
    Setting(
        "websocket_driver",
        _choice("inline", "simple-websocket"),
        "inline",
        "How WebSocket frames are read and written under gevent. `inline`: in the connection's own "
        "green thread, without simple-websocket's reader thread (seam/inline_ws.py), and "
        "replies are written from the sender's green thread (seam/session.py); "
        "`simple-websocket`: python-engineio's driver. With `websocket_compression` on, or outside "
        "gevent, simple-websocket (or the async mode's own) is used either way.",
    ),
    Setting(
        "async_handlers",
        _bool,
        False,
        "Run each incoming event in a green thread of its own. Off (faster: a green thread less per "
        "event, bench/RESULTS.md): one connection's events run in turn, so a slow handler delays that "
        "client's next event and its pongs; hand slow work to a background task.",
    ),
    Setting(
        "http_compression",
        _bool,
        True,
        "gzip/deflate polling responses over 1 KiB when the client accepts it (a join's history).",
    ),
    Setting(
        "admin_ui",
        _bool,
        False,
        "Serve the Socket.IO Admin UI at `/admin/` (the pinned npm `@socket.io/admin-ui`, from this "
        "gateway's own origin) and report to it on the Socket.IO namespace `/admin` (python-socketio's "
        "`instrument`). Needs `admin_username` and `admin_password`. Its connections pass the same gate: "
        "the profile's origins and transports apply. Reporting wraps every event: off by default.",
    ),
    Setting(
        "admin_username",
        _admin_username,
        "",
        "The Admin UI's user name (required with `admin_ui`).",
    ),
    Setting(
        "admin_password",
        _admin_password,
        "",
        "The Admin UI's password, at least 12 characters (required with `admin_ui`; for example "
        "`openssl rand -base64 18`). Set it in the environment, not in a profile file.",
        secret=True,
    ),
    Setting(
        "admin_mode",
        _choice("readonly", "development"),
        "readonly",
        "`readonly`: the Admin UI sees every connection, room and event but can change nothing; "
        "`development`: it may also emit, make sockets join and leave rooms, and disconnect them.",
    ),
    Setting(
        "log_level",
        _choice("debug", "info", "warning", "error"),
        "info",
        "How much the gateway logs.",
    ),
    Setting(
        "log_format",
        _choice("text", "json"),
        "text",
        "Every log line (gunicorn's, the gateway's, python-engineio's and python-socketio's) as `text`, "
        "or as `json`: one object a line with `ts`, `level`, `logger`, `msg` and, where known, `sid`, "
        "`transport`, `address`, `code`.",
    ),
    Setting(
        "access_log",
        _choice("off", "on"),
        "off",
        "`on`: one line per HTTP request (gunicorn's access log, in `log_format`) with its status and "
        "duration; a long-poll shows as held about `ping_interval` seconds. Off by default: building the "
        "line costs 2.5% of polling time.",
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

#: Names from socket.io 0.9 (and its spaced spelling) that map onto a setting.
SETTING_ALIASES: dict[str, str] = {
    "polling_duration": "ping_interval",
    "polling duration": "ping_interval",
}


def lookup(name: str) -> Setting:
    """The setting a (possibly socket.io 0.9) name refers to, or a ConfigError."""
    key = name.strip().lower()
    key = SETTING_ALIASES.get(key, key.replace("-", "_"))
    if key not in BY_NAME:
        valid = ", ".join(BY_NAME)
        raise ConfigError(f"unknown setting {name!r}; valid settings: {valid}")
    return BY_NAME[key]


def parse_value(setting: Setting, raw: Any, source: str) -> Any:
    """Parse one value, naming where it came from when it is bad."""
    try:
        return setting.parse(raw)
    except (ValueError, TypeError) as exc:
        shown = "(not shown)" if setting.secret else repr(raw)
        raise ConfigError(f"{source}: bad value {shown} for {setting.name}: {exc}") from None
