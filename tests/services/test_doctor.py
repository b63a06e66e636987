"""`nakoming doctor` against real services: its own redis-server, a real `nakoming worker`, and a database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.services.real import ROOT, Worker, redis_server, worker_env

pytestmark = pytest.mark.slow


def _doctor(env: dict[str, str]) -> tuple[int, dict[str, tuple[str, str]]]:
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "doctor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in out.stderr, out.stderr
    checks = {}
    for line in out.stdout.splitlines():
        outcome, name, detail = line[:4].strip(), line[6:18].strip(), line[19:]
        checks[name] = (outcome, detail)
    return out.returncode, checks


async def test_doctor_sees_the_deployment_as_it_is(tmp_path: Path) -> None:
    db = tmp_path / "doctor.db"
    with redis_server() as server:
        env = worker_env(
            f"sqlite+aiosqlite:///{db}",
            server.url,
            NAKOMING_PSEUDONYM_KEY="k" * 32,
            NAKOMING_TK_SYNCFEED_URL="http://127.0.0.1:9/SyncFeed/2.0",
            NAKOMING_LOG_JSON="false",
        )
        # not migrated yet: the migrations check says what to run
        code, checks = _doctor(env)
        assert (
            code == 1
            and checks["migrations"][0] == "FAIL"
            and "nakoming db upgrade" in checks["migrations"][1]
        )
        assert checks["database"][0] == "FAIL" and not db.exists()  # no empty SQLite file left behind
        upgrade = subprocess.run(
            [sys.executable, "-m", "services.cli", "db", "upgrade", "--no-evaluate"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert upgrade.returncode == 0, upgrade.stderr
        # migrated, Redis up, no worker
        code, checks = _doctor(env)
        assert code == 1, checks
        assert [
            checks[n][0]
            for n in ("database", "migrations", "redis", "worker", "pseudonyms", "tk feed", "clocks")
        ] == ["ok", "ok", "ok", "FAIL", "ok", "warn", "ok"], checks
        assert "nakoming worker" in checks["worker"][1] and "127.0.0.1:9" in checks["tk feed"][1]
        # a real worker: its heartbeat is seen
        worker = Worker(env, tmp_path / "worker.log").start()
        redis = server.client()
        try:
            await worker.ready(redis)
            code, checks = _doctor(env)
            assert code == 0 and checks["worker"][0] == "ok" and "heartbeat seen" in checks["worker"][1], (
                checks
            )
            assert "redis" in checks["clocks"][1]
        finally:
            worker.stop()
            await redis.aclose()
        server.stop()
        code, checks = _doctor(env)
        assert (
            code == 1
            and checks["redis"][0] == "FAIL"
            and checks["worker"] == ("FAIL", "not checked: Redis does not answer")
        )


def test_telemetry_check_says_where_metrics_and_traces_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.doctor import telemetry_check
    from shared.settings import Settings

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    check = telemetry_check(Settings(_env_file=None))  # type: ignore[call-arg]
    assert (check.outcome, check.detail) == ("ok", "/metrics for admin keys; tracing off")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    assert telemetry_check(Settings(_env_file=None)).outcome == "FAIL"  # type: ignore[call-arg]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    check = telemetry_check(
        Settings(metrics_port=9100, otlp_endpoint="http://collector:4318/v1/traces", _env_file=None)
    )  # type: ignore[call-arg]
    assert check.outcome == "ok"
    assert (
        "port 9100" in check.detail
        and str(tmp_path) in check.detail
        and "http://collector:4318" in check.detail
    )
