"""The servers under test: started as real processes, measured through /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from serving.process import raise_open_files_limit  # noqa: F401 (the runner's too)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

#: The gateway as a PaaS runs it (the Procfile's web: line), with the bench profile.
GATEWAY_COMMAND = "gunicorn -c gunicorn.conf.py app:app"
#: The plain stack on the same worker: one gevent process, same worker_connections.
BASELINE_COMMAND = "gunicorn -c bench/baseline_gunicorn.conf.py -b 127.0.0.1:$PORT bench.baseline:app"
#: The reference server: socket.io 4.8 on Node, library defaults, one process (``exec``: no shell
#: between, so the process the runner measures is Node itself).
NODE_COMMAND = "exec node bench/node_server.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, depth first, through /proc/PID/task/*/children."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except FileNotFoundError:
            continue
        for child in map(int, children):
            found.append(child)
            found.extend(descendants(child))
    return found


def worker_pid(pid: int) -> int:
    """The process that serves requests: the deepest one under ``pid`` (gunicorn's worker), or ``pid``."""
    below = descendants(pid)
    return below[-1] if below else pid


def rss_kib(pid: int) -> int:
    """Resident memory of one process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used (/proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One server under test on a free loopback port; ``url`` is what the load script targets."""

    name: str
    command: str
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: ROOT / "bench" / "logs")
    port: int = 0
    process: subprocess.Popen | None = None
    #: The checkout the server runs from: another one compares two commits (``python -m bench.ab TREE=DIR``).
    cwd: Path = ROOT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, seconds: float = 30) -> Server:
        self.port = free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"{self.name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", PORT=str(self.port), HOST="127.0.0.1")
        env.update(self.env)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command.replace("$PORT", str(self.port)),
                shell=True,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /healthz within {seconds:g} s; see {self.log_path}")

    def worker_rss_kib(self) -> int:
        assert self.process is not None
        return rss_kib(worker_pid(self.process.pid))

    def worker_cpu_seconds(self) -> float:
        assert self.process is not None
        return cpu_seconds(worker_pid(self.process.pid))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
