"""Simulated hosts: real nginx with the configs from deploy/nginx/, started per test.

Each process gets its own prefix, config, pid and logs in the test's tmp dir and a
free loopback port, and is stopped when the test ends.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import ROOT, free_port

NGINX_CONFIGS = ROOT / "deploy" / "nginx"

#: The main nginx.conf around deploy/nginx/*.conf (which are conf.d files). ``{site}`` may be a
#: glob (``conf.d/*.conf``), as in a distribution's nginx.conf.
MAIN_CONF = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {site};
}}
"""


def write_main_conf(prefix: Path, site: Path | str) -> Path:
    """Write ``prefix/nginx.conf`` including ``site`` (a file or a glob); returns its path."""
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would run as nobody and could not reach the tmp dir.
    user = "user root;" if os.getuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(MAIN_CONF.format(user=user, prefix=prefix, site=site))
    return conf


def nginx_test(conf: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``conf``: checks the syntax and loads it (upstreams, maps) without serving."""
    return subprocess.run(
        ["nginx", "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )


def render(template: str, **values: str) -> str:
    """Fill the ``{{name}}`` placeholders of a deploy/nginx template; every one must be given."""
    text = (NGINX_CONFIGS / template).read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    missing = set(re.findall(r"\{\{(\w+)\}\}", text))
    assert not missing, f"{template}: no value for {sorted(missing)}"
    return text


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}:\n{log.read_text(errors='replace')}")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Nginx:
    """nginx from the Debian package, serving one deploy/nginx template on a free port."""

    def __init__(self, template: str, tmp: Path, **values: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = tmp / f"nginx-{self.port}"
        self.prefix.mkdir(parents=True)
        site = self.prefix / template
        site.write_text(render(template, listen=f"127.0.0.1:{self.port}", **values))
        conf = write_main_conf(self.prefix, site)
        self.error_log = self.prefix / "error.log"
        self.process = subprocess.Popen(
            [
                "nginx",
                "-p",
                str(self.prefix),
                "-c",
                str(conf),
                "-e",
                str(self.error_log),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, self.process, "nginx", self.error_log)

    def access_log(self) -> str:
        path = self.prefix / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def statuses(self) -> list[int]:
        """The HTTP status of every request nginx logged (combined log format)."""
        return [int(m) for m in re.findall(r'" (\d{3}) ', self.access_log())]

    def stop(self) -> None:
        stop_process(self.process)
