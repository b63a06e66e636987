"""The contract as a generated client sees it: a TypeScript client is generated from this app's /openapi.json
(openapi-typescript) and a small front-end example (tests/contract/typescript/example.ts, using openapi-fetch)
is type-checked against it with `tsc --strict`. The example also holds lines that must NOT compile
(`@ts-expect-error`: an unknown status, an undocumented sort field, a commitment without a title): if the
document loosens an enum or a required field, tsc reports the unused expectation and this test fails.

The tools come from package-lock.json (`npm ci`, which .ci/run runs). Without them the test is skipped, except
under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from services.api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
EXAMPLE = Path(__file__).parent / "typescript"


def _tools() -> tuple[Path, Path]:
    generate, tsc = BIN / "openapi-typescript", BIN / "tsc"
    node = shutil.which("node")
    if node is None or not generate.exists() or not tsc.exists():
        reason = "node, openapi-typescript or tsc is missing (npm ci; .ci/run does this)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the generated-client test cannot run in CI: {reason}")
        pytest.skip(reason)
    return generate, tsc


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{output[-6000:]}"
    return output


# openapi-typescript 7 by default types every field that has a default as present, request bodies included; the
# server fills those defaults in, so a client may leave them out (`origin` of a new commitment, say).
GENERATE_OPTIONS = ["--default-non-nullable", "false"]


def _client_dir(tmp_path: Path, example: str) -> Path:
    work = tmp_path / "client"
    work.mkdir()
    (work / "openapi.json").write_text(json.dumps(create_app().openapi()))
    (work / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    (work / "tsconfig.json").write_text((EXAMPLE / "tsconfig.json").read_text())
    (work / "example.ts").write_text(example)
    return work


def test_a_generated_typescript_client_type_checks_the_example(tmp_path: Path) -> None:
    generate, tsc = _tools()
    work = _client_dir(tmp_path, (EXAMPLE / "example.ts").read_text())
    _run([str(generate), "openapi.json", "-o", "nakoming.d.ts", *GENERATE_OPTIONS], work)
    types = (work / "nakoming.d.ts").read_text()
    assert '"/v1/commitments": {' in types and "CommitmentPage" in types
    _run([str(tsc), "-p", "tsconfig.json"], work)


def test_the_type_check_fails_where_the_contract_would_be_misused(tmp_path: Path) -> None:
    """The check has teeth: the same example with one misuse more (a string where the API takes a number)."""
    generate, tsc = _tools()
    example = (EXAMPLE / "example.ts").read_text() + (
        '\nexport async function misuse(): Promise<void> {\n'
        '  await api.GET("/v1/commitments", { params: { query: { limit: "fifty" } } });\n}\n'
    )
    work = _client_dir(tmp_path, example)
    _run([str(generate), "openapi.json", "-o", "nakoming.d.ts", *GENERATE_OPTIONS], work)
    done = subprocess.run(
        [str(tsc), "-p", "tsconfig.json"], cwd=work, capture_output=True, text=True, timeout=300
    )
    misuse_line = (
        example.splitlines().index(
            '  await api.GET("/v1/commitments", { params: { query: { limit: "fifty" } } });'
        )
        + 1
    )
    assert done.returncode != 0, "tsc accepted a string for `limit`"
    assert [line.split("(")[1].split(",")[0] for line in done.stdout.splitlines() if "error TS" in line] == [
        str(misuse_line)
    ], done.stdout[-3000:]
