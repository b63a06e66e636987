"""The console script as an operator uses it: a fresh SQLite file, `nakoming run`, keys."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _env(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NAKOMING_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "NAKOMING_LOG_JSON": "false",
        "NAKOMING_TK_SYNCFEED_URL": "http://127.0.0.1:9/unreachable",
    }


def _nakoming(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_seeded_api_on_fresh_sqlite(tmp_path: Path) -> None:
    env = _env(tmp_path / "nakoming.db")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "nakoming run did not become ready"
            time.sleep(0.3)
        page = httpx.get(f"http://127.0.0.1:{port}/v1/commitments", params={"q": "zzp"}).json()
        assert page["items"], "seed data is loaded"
        assert all(c["evaluated_at"] for c in page["items"]), "statuses are computed at start-up"
        toezeggingen = httpx.get(f"http://127.0.0.1:{port}/v1/tk/toezeggingen").json()["items"]
        assert any(t["nummer"] == "TZ202511-041" for t in toezeggingen), "the bundled TK snapshot is loaded"
        assert httpx.post(f"http://127.0.0.1:{port}/v1/commitments", json={"title": "x"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_keys_create_validates_scopes_and_seed_load_is_idempotent(tmp_path: Path) -> None:
    env = _env(tmp_path / "k.db")
    assert _nakoming("db", "upgrade", env=env).returncode == 0
    bad = _nakoming("keys", "create", "--name", "x", "--scopes", "superuser", env=env)
    assert bad.returncode != 0
    out = _nakoming("keys", "create", "--name", "frontend", "--scopes", "read,write", env=env)
    assert out.returncode == 0, out.stderr
    key = next(line.split(": ", 1)[1] for line in out.stdout.splitlines() if line.startswith("key: "))
    assert key.startswith("nk_")
    seeded = _nakoming("seed", "load", env=env)
    assert seeded.returncode == 0 and "commitments" in seeded.stdout
    again = _nakoming("seed", "load", env=env)
    assert "nothing added" in again.stdout


def test_seed_load_evaluates_and_recalc_as_of_stores_nothing(tmp_path: Path) -> None:
    """After `seed load` every commitment has an evaluation (no waiting for the nightly run); `recalc --as-of`
    prints a past evaluation and leaves the stored one as of today."""
    import json
    import sqlite3

    db = tmp_path / "s.db"
    env = _env(db)
    assert _nakoming("db", "upgrade", env=env).returncode == 0
    seeded = _nakoming("seed", "load", env=env)
    assert seeded.returncode == 0 and "statuses evaluated" in seeded.stdout, seeded.stderr
    with sqlite3.connect(db) as conn:
        missing = conn.execute("SELECT count(*) FROM commitments WHERE evaluated_at IS NULL").fetchone()[0]
        total = conn.execute("SELECT count(*) FROM commitments").fetchone()[0]
        without_reason = conn.execute("SELECT count(*) FROM commitments WHERE reasons = '[]'").fetchone()[0]
        cid, status, evaluated = conn.execute(
            "SELECT id, status, evaluated_at FROM commitments WHERE key = 'fokus-zzp-afbouw-2026-07-01'"
        ).fetchone()
    assert total >= 25 and missing == 0 and without_reason == 0
    import uuid

    commitment = str(uuid.UUID(cid))
    past = _nakoming("recalc", "--commitment", commitment, "--as-of", "2026-01-15", env=env)
    assert past.returncode == 0, past.stderr
    assert json.loads(past.stdout)["as_of"] == "2026-01-15"
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT status, evaluated_at FROM commitments WHERE id = ?", (cid,)
        ).fetchone() == (status, evaluated)
    refused = _nakoming("recalc", "--all", "--as-of", "2026-01-15", env=env)
    assert refused.returncode != 0 and "--commitment" in refused.stderr


def test_commands_on_an_unmigrated_database_say_what_to_run(tmp_path: Path) -> None:
    """One line naming the command to run, no traceback, and no empty SQLite file left behind."""
    db = tmp_path / "fresh.db"
    env = _env(db)
    for args in (
        ("keys", "create", "--name", "x", "--scopes", "read"),
        ("seed", "load"),
        ("recalc", "--all"),
        ("sync", "--no-progress"),
        ("signals", "purge"),
    ):
        out = _nakoming(*args, env=env)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "nakoming db upgrade" in lines[0] and "Traceback" not in out.stderr, (
            args,
            out.stderr,
        )
        assert not db.exists(), args
    db.touch()  # a database that exists but was never migrated
    out = _nakoming("keys", "create", "--name", "x", "--scopes", "read", env=env)
    assert (
        out.returncode == 1
        and out.stderr.strip()
        == "The database is not migrated: run `nakoming db upgrade` (or `./scripts/run`, which also loads the seed data)."
    )


def test_the_wrapper_runs_the_console_script_from_anywhere(tmp_path: Path) -> None:
    """`./scripts/nakoming ...` works as the README writes it, from any directory (it installs the locked
    environment first), on the embedded default database of the repo root unless NAKOMING_DATABASE_URL says so."""
    env = _env(tmp_path / "w.db")
    out = subprocess.run(
        [str(ROOT / "scripts" / "nakoming"), "db", "upgrade", "--no-evaluate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "database at heads" in out.stdout, out.stderr
    out = subprocess.run(
        [str(ROOT / "scripts" / "nakoming"), "keys", "create", "--name", "w", "--scopes", "read"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "key: nk_" in out.stdout, out.stderr


def test_sync_without_a_reachable_feed_answers_in_one_line_at_once(tmp_path: Path) -> None:
    """Offline (a name that does not resolve) or with nothing listening: one line saying so, exit 1, and no retries
    with backoff per category first (it took 126 s offline before)."""
    env = _env(tmp_path / "s.db")
    assert _nakoming("db", "upgrade", "--no-evaluate", env=env).returncode == 0
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    for url in ("https://feed.nakoming.invalid/SyncFeed/2.0", f"http://127.0.0.1:{closed}/SyncFeed/2.0"):
        out = _nakoming("sync", "--no-progress", env={**env, "NAKOMING_TK_SYNCFEED_URL": url})
        assert out.returncode == 1, (url, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot be reached" in lines[0] and url in lines[0], (url, out.stderr)
        assert "nothing was synced" in lines[0] and "Traceback" not in out.stderr
        assert out.stdout == ""


def test_clients_create_rotate_revoke_list(tmp_path: Path) -> None:
    """`nakoming clients ...` as an operator uses it: the secret printed once, a party without codes refused."""
    env = _env(tmp_path / "c.db")
    assert _nakoming("db", "upgrade", env=env).returncode == 0
    assert _nakoming("seed", "load", env=env).returncode == 0
    refused = _nakoming(
        "clients",
        "create",
        "--name",
        "Menzis",
        "--scopes",
        "signals:write",
        "--party",
        "zorgkantoor-menzis",
        env=env,
    )
    assert (
        refused.returncode == 2
        and "zorgkantoor or AGB code" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    made = _nakoming(
        "clients",
        "create",
        "--name",
        "Menzis",
        "--scopes",
        "read,write",
        "--party",
        "zorgkantoor-menzis",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(": ", 1) for line in made.stdout.splitlines())
    assert lines["client_id"].startswith("nkc_") and len(lines["client_secret"]) >= 40
    listed = _nakoming("clients", "list", env=env).stdout
    assert lines["client_id"] in listed and lines["client_secret"] not in listed and "revoked=-" in listed
    rotated = _nakoming("clients", "rotate", lines["client_id"], env=env)
    assert rotated.returncode == 0 and rotated.stdout.startswith("client_secret: ")
    assert rotated.stdout.split(": ", 1)[1].strip() != lines["client_secret"]
    assert _nakoming("clients", "revoke", lines["client_id"], env=env).stdout.strip() == "revoked"
    again = _nakoming("clients", "revoke", lines["client_id"], env=env)
    assert again.returncode == 1 and "no such active client" in again.stderr
    assert "revoked=-" not in _nakoming("clients", "list", env=env).stdout
