"""Fixtures: a fresh in-process app per test, and real gunicorn servers from the Procfile."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command(process: str = "web") -> str:
    """The command line of one Procfile process type, as a PaaS would run it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise LookupError(f"no {process}: line in Procfile")


def clean_env(**overrides: str) -> dict[str, str]:
    """The test's environment without any GATEWAY_* leaking in, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(overrides)
    return env


#: The test gateways' presence_grace: a disconnect is told this late (tests/test_chat.py).
PRESENCE_GRACE_S = 1


class Gateway:
    """A real gateway process on a free port, with its log kept for assertions."""

    def __init__(self, command: str, env: dict[str, str], tmp: Path, port: int | None = None) -> None:
        self.command = command
        self.env = env
        self.tmp = tmp
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"gateway-{self.port}.log"
        self._start()

    def _start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command.replace("$PORT", str(self.port)),
            shell=True,
            cwd=ROOT,
            env=clean_env(
                PORT=str(self.port), HOST="127.0.0.1", **{**self.default_env(self.tmp), **self.env}
            ),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            # Never left running: a gunicorn that answers nothing (an app that fails on its first
            # request, such as jwt without a key) kept rebooting workers after the test had ended.
            self.stop(kill=True)
            raise

    def restart(self) -> None:
        """Start the same command again: same port, same environment, same database file."""
        self.stop()
        self._start()

    @staticmethod
    def default_env(tmp: Path) -> dict[str, str]:
        """Each gateway keeps its history in the test's own folder, never in instance/, and tells a
        disconnect after 1 s (PRESENCE_GRACE_S) rather than 10, for the tests that watch one."""
        return {
            "GATEWAY_DATABASE_URL": f"sqlite:///{tmp / 'history.db'}",
            "GATEWAY_PRESENCE_GRACE": str(PRESENCE_GRACE_S),
        }

    def _wait_ready(self, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway did not answer /healthz:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (gunicorn's graceful stop), or SIGKILL for a crash."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator:
    """Start gateways with ``start_gateway(GATEWAY_PROFILE='web-role', command=...)``."""
    started: list[Gateway] = []

    def start(command: str | None = None, port: int | None = None, **env: str) -> Gateway:
        gateway = Gateway(command or procfile_command(), env, tmp_path, port)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


def _module_gateway(tmp_path_factory: pytest.TempPathFactory, profile: str) -> Iterator[Gateway]:
    gateway = Gateway(procfile_command(), {"GATEWAY_PROFILE": profile}, tmp_path_factory.mktemp(profile))
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def web_role(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """gunicorn from the Procfile's web: line with GATEWAY_PROFILE=web-role."""
    yield from _module_gateway(tmp_path_factory, "web-role")


@pytest.fixture(scope="module")
def worker_role(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """gunicorn from the Procfile's web: line with GATEWAY_PROFILE=worker-role."""
    yield from _module_gateway(tmp_path_factory, "worker-role")


@pytest.fixture
def make_app(tmp_path: Path):
    """Build in-process apps from a mapping of settings, as Flask's tutorial does: no environment."""
    from app import create_app

    def make(profile: str = "worker-role", **settings: object):
        return create_app(
            {"profile": profile, "database_url": f"sqlite:///{tmp_path / 'history.db'}", **settings}
        )

    return make


@pytest.fixture
def app(make_app):
    """A fresh in-process app per test (Flask tutorial style), default profile."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


class RedisServer:
    """A throwaway redis-server on a free port: nothing saved (unless ``appendonly``), gone when stopped."""

    def __init__(self, tmp: Path, appendonly: bool = False) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp = tmp
        self.appendonly = appendonly
        self._start()

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def restart(self) -> None:
        """Start it again on the same port (with ``appendonly``, with the same data)."""
        self.stop()
        self._start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.stop()


#: Flags Debian's Chromium needs here (see ../shared/notes/stack-facts.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Debian Chromium for the session; each test opens its own fresh context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def contexts(browser) -> Iterator:  # noqa: ANN001
    """``contexts(websocket=True)`` opens fresh browser contexts, closed after the test."""
    from chat_page import open_context

    opened = []

    def open_one(**options):  # noqa: ANN003, ANN202
        context = open_context(browser, **options)
        opened.append(context)
        return context

    yield open_one
    for context in opened:
        context.close()


@pytest.fixture
def start_nginx(tmp_path: Path) -> Iterator:
    """Start nginx on a deploy/nginx template: ``start_nginx('websocket.conf', gateway=..., ...)``."""
    from hosts import Nginx

    started: list[Nginx] = []

    def start(template: str, **values: str) -> Nginx:
        nginx = Nginx(template, tmp_path, **values)
        started.append(nginx)
        return nginx

    yield start
    for nginx in started:
        nginx.stop()
