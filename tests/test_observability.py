"""Operate it and see it: /readyz with real failures, logs in one format, the rules and the dashboard
against a real gateway's /metrics, and a real Prometheus scraping it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import redis
from chat_client import ChatUser, wait_for
from conftest import ROOT, RedisServer, free_port
from test_operations import scrape
from wire import get

RULES = ROOT / "deploy/prometheus/rules.yml"
DASHBOARD = ROOT / "deploy/grafana/rolegate.json"


def readyz(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_readyz(url: str, status: int, seconds: float) -> dict:
    """Poll /readyz until it answers ``status``; its body."""
    deadline = time.monotonic() + seconds
    while True:
        got, body = readyz(url)
        if got == status:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz still {got} after {seconds} s: {body}")
        time.sleep(0.25)


def ready_gauge(url: str, check: str) -> float:
    return scrape(url)[1][("rolegate_ready", (("check", check),))]


# --- /readyz ---------------------------------------------------------------------------------


def test_readyz_fails_history_when_the_sqlite_file_is_replaced_by_a_directory(start_gateway, tmp_path):
    gateway = start_gateway(GATEWAY_PROFILE="web-role")
    body = wait_readyz(gateway.url, 200, 5)
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"history", "draining"}  # no message queue: no queue check
    assert body["checks"]["history"]["ok"] is True
    assert ready_gauge(gateway.url, "history") == 1

    database = tmp_path / "history.db"
    database.rename(tmp_path / "history.db.moved")
    database.mkdir()  # the store can no longer be written where it says it is

    body = wait_readyz(gateway.url, 503, 10)  # the probe runs at most every 5 s
    assert body["failed"] == ["history"]
    assert "removed or replaced" in body["checks"]["history"]["detail"]
    assert body["checks"]["draining"]["ok"] is True
    assert ready_gauge(gateway.url, "history") == 0
    status, _ = get(gateway.url, "/healthz")
    assert status == 200  # liveness stays a cheap "the process answers"
    assert "readiness check history fails" in gateway.log()


def restart_redis(server: RedisServer, tmp: Path) -> None:
    """Start redis-server again on the same port (the gateway's URL stays valid)."""
    server.process = subprocess.Popen(
        ["redis-server", "--port", str(server.port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    wait_for(lambda: _answers(server.url), seconds=10)


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        return False


def test_readyz_fails_queue_while_redis_is_away_and_passes_again_when_it_is_back(
    start_gateway, redis_server, tmp_path
):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_MESSAGE_QUEUE=redis_server.url)
    body = wait_readyz(gateway.url, 200, 10)
    assert body["checks"]["queue"]["ok"] is True
    assert "heartbeat heard" in body["checks"]["queue"]["detail"]

    redis_server.stop()
    body = wait_readyz(gateway.url, 503, 15)
    assert body["failed"] == ["queue"]
    assert body["checks"]["history"]["ok"] is True
    assert ready_gauge(gateway.url, "queue") == 0

    restart_redis(redis_server, tmp_path)
    # python-socketio's listener retries with a doubling backoff (1, 2, 4, 8, 16 s).
    body = wait_readyz(gateway.url, 200, 40)
    assert body["checks"]["queue"]["ok"] is True
    assert ready_gauge(gateway.url, "queue") == 1


def test_readyz_fails_queue_when_the_subscribed_listener_hears_nothing(start_gateway, redis_server):
    """A deaf listener: still subscribed, but no message comes through (Redis paused)."""
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_MESSAGE_QUEUE=redis_server.url)
    wait_readyz(gateway.url, 200, 10)

    redis.Redis.from_url(redis_server.url).client_pause(12_000)  # PUBLISH waits, nothing is delivered
    body = wait_readyz(gateway.url, 503, 10)
    assert body["failed"] == ["queue"]
    assert "has heard no heartbeat for" in body["checks"]["queue"]["detail"]
    samples = scrape(gateway.url)[1]
    assert samples[("rolegate_queue_heartbeat_age_seconds", ())] > 5

    body = wait_readyz(gateway.url, 200, 20)  # the pause ends, heartbeats come through again
    assert body["checks"]["queue"]["ok"] is True


def test_readyz_in_process_says_draining(make_app):
    from ops import shutdown

    client = make_app("web-role").test_client()
    assert client.get("/readyz").status_code == 200
    shutdown.DRAINING.set()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["failed"] == ["draining"]
        assert response.json["checks"]["draining"] == {"ok": False, "detail": "shutting down"}
    finally:
        shutdown.DRAINING.clear()


# --- logs ------------------------------------------------------------------------------------


def test_json_logs_every_line_with_fields_and_one_access_line_per_request(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_LOG_FORMAT="json", GATEWAY_ACCESS_LOG="on")
    user = ChatUser(gateway.url, ["polling"], name="ann")
    try:
        assert user.join("lobby")["ok"] is True
    finally:
        user.close()
    assert get(gateway.url, "/socket.io/?EIO=4&transport=websocket")[0] == 400  # no_upgrade_header
    assert get(gateway.url, "/socket.io/?EIO=4&transport=polling&sid=nosuchsession")[0] == 400
    assert get(gateway.url, "/readyz")[0] == 200
    wait_for(lambda: '"path": "/readyz"' in gateway.log())

    lines = [json.loads(line) for line in gateway.log().splitlines() if line.strip()]  # every line
    for line in lines:
        assert {"ts", "level", "logger", "msg"} <= set(line), line
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access", "rolegate", "engineio.server"} <= loggers

    refusal = next(line for line in lines if line.get("code") == "no_upgrade_header")
    assert refusal["level"] == "warning"
    assert refusal["transport"] == "websocket"
    assert refusal["address"] == "127.0.0.1"
    connected = next(line for line in lines if line["msg"].startswith("user connected"))
    assert connected["transport"] == "polling" and connected["sid"]
    # python-engineio logs the first session error of a process at ERROR, later ones at INFO (below
    # our level). The request for "nosuchsession" is one; the polling client's own close may have
    # been the first ("Session is disconnected ..."), so either line shows the logger in JSON.
    assert any(
        line["logger"] == "engineio.server"
        and line["level"] == "error"
        and "further occurrences of this error" in line["msg"]
        for line in lines
    )

    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    readyz_line = next(line for line in access if line["path"] == "/readyz")
    assert readyz_line["status"] == 200 and readyz_line["method"] == "GET"
    assert isinstance(readyz_line["duration_ms"], int)
    refused = next(line for line in access if "transport=websocket" in line["query"])
    assert refused["status"] == 400


def test_text_logs_without_access_log_by_default(start_gateway):
    gateway = start_gateway(GATEWAY_PROFILE="web-role")
    assert get(gateway.url, "/socket.io/?EIO=4&transport=polling&sid=nosuchsession")[0] == 400
    assert get(gateway.url, "/healthz")[0] == 200
    wait_for(lambda: "Invalid session" in gateway.log())
    log = gateway.log()
    assert "gunicorn.access" not in log
    assert re.search(r"^\S+ \S+ gunicorn\.error INFO Starting gunicorn", log, re.M)
    # python-engineio's line in the same format as ours, no longer bare.
    assert re.search(r"^\S+ \S+ engineio\.server ERROR Invalid session nosuchsession", log, re.M)


# --- rules, dashboard, a real Prometheus -----------------------------------------------------

PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "rate", "increase", "histogram_quantile", "by", "without",
    "and", "or", "unless", "offset", "on", "ignoring", "group_left", "group_right", "bool", "label_values",
}  # fmt: skip
#: Series Prometheus makes itself, not the gateway.
PROMETHEUS_OWN = {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\boffset\s+\w+", "", expr)
    expr = re.sub(r",\s*instance\)", ")", expr)  # label_values(metric, instance)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return {w for w in words if w not in PROMQL_WORDS and not w.startswith("__")}


def rule_expressions() -> list[str]:
    import yaml  # noqa: PLC0415

    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exprs += [var["definition"] for var in dashboard["templating"]["list"] if var.get("definition")]
    return exprs


def exposed_names(text: str) -> set[str]:
    """Every series name /metrics can carry, from its TYPE lines (labelled counters may have none yet)."""
    suffixes = {"counter": ("", "_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        base = name.removesuffix("_total") if kind == "counter" else name
        names |= {base + suffix for suffix in suffixes.get(kind, ("",))}
    return names


def test_promtool_accepts_the_alert_rules():
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_every_metric_the_dashboard_and_the_rules_read_is_one_the_gateway_exposes(
    start_gateway, redis_server
):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role", GATEWAY_MESSAGE_QUEUE=redis_server.url)
    status, text = get(gateway.url, "/metrics", limit=None)
    assert status == 200
    exposed = exposed_names(text)
    used = {name for expr in rule_expressions() + dashboard_expressions() for name in metric_names(expr)}
    assert {"rolegate_ready", "rolegate_connections", "rolegate_history_write_seconds_bucket"} <= used
    assert used - exposed - PROMETHEUS_OWN == set()
    # The dashboard shows what the issue asks for.
    titles = " ".join(panel["title"] for panel in json.loads(DASHBOARD.read_text())["panels"]).lower()
    for topic in ("connections", "upgrades", "refusals", "messages", "errors", "history", "slow", "ready"):
        assert topic in titles


class Prometheus:
    """A real Prometheus with its own config and storage in tmp, on a free port."""

    def __init__(self, tmp: Path, target_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        shutil.copy(RULES, tmp / "rules.yml")
        config = tmp / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yml]\n"
            "scrape_configs:\n"
            "  - job_name: rolegate\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        )
        self.log_path = tmp / "prometheus.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def api(self, path: str, **query: str) -> dict:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())["data"]

    def query(self, expr: str) -> list[dict]:
        try:
            return self.api("query", query=expr)["result"]
        except OSError:
            return []

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self._log.close()


@pytest.fixture
def prometheus_for(tmp_path: Path):
    started: list[Prometheus] = []

    def start(port: int) -> Prometheus:
        (tmp_path / "prometheus").mkdir()
        started.append(Prometheus(tmp_path / "prometheus", port))
        return started[-1]

    yield start
    for prometheus in started:
        prometheus.stop()


def test_a_real_prometheus_scrapes_the_gateway_and_loads_the_rules(start_gateway, prometheus_for, tmp_path):
    gateway = start_gateway(GATEWAY_PROFILE="worker-role")
    user = ChatUser(gateway.url, ["websocket"], name="ann")
    try:
        assert user.join("lobby")["ok"] is True
        assert user.say("lobby", "hello")["ok"] is True
        prometheus = prometheus_for(gateway.port)
        instance = f"127.0.0.1:{gateway.port}"

        wait_for(lambda: prometheus.query('rolegate_ready{check="history"} == 1'), seconds=30)
        [ready] = prometheus.query('rolegate_ready{check="history"}')
        assert ready["metric"]["instance"] == instance and ready["metric"]["job"] == "rolegate"
        [connections] = prometheus.query('rolegate_connections{transport="websocket"}')
        assert connections["value"][1] == "1"
        [info] = prometheus.query("rolegate_profile_info")
        assert info["metric"]["profile"] == "worker-role"
        [written] = prometheus.query("rolegate_history_write_seconds_count")
        assert written["value"][1] == "1"

        groups = prometheus.api("rules")["groups"]
        rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
        assert set(rules) == {
            "RolegateDown",
            "RolegateNotReady",
            "RolegateDeafListener",
            "RolegateRefusalsRising",
            "RolegateHistoryWriteSlow",
        }
        wait_for(lambda: all(r.get("lastEvaluation", "").startswith("2") for r in _rules(prometheus)), 10)
        assert all(rule["health"] == "ok" for rule in _rules(prometheus)), _rules(prometheus)

        # The history store breaks: Prometheus sees the gauge fall, and the alert becomes pending.
        database = tmp_path / "history.db"
        database.rename(tmp_path / "history.db.moved")
        database.mkdir()
        wait_for(lambda: prometheus.query('rolegate_ready{check="history"} == 0'), seconds=30)
        wait_for(lambda: prometheus.query('ALERTS{alertname="RolegateNotReady",check="history"}'), seconds=15)
    finally:
        user.close()


def _rules(prometheus: Prometheus) -> list[dict]:
    return [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]
