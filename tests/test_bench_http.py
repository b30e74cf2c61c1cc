"""bench/http_load.py still runs: a tiny version of issue 18's load test (one round of 2 s per load) with wrk
against `shouwang serve` and the bare app, on a 500-household PostgreSQL district, in a subprocess."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432/postgres"  # where bench/risk_scoring.py builds its districts


def _postgresql_answers() -> bool:
    try:
        with psycopg.connect(PG, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


pytestmark = [
    # the benchmark builds its own PostgreSQL district whatever the pass: once is enough
    pytest.mark.skipif(
        bool(os.environ.get("SHOUWANG_TEST_DATABASE_URL")), reason="runs once, in the SQLite pass"
    ),
    pytest.mark.real_clock,
]


def _bench(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env |= {
        "TMPDIR": str(tmp_path),
        "SHOUWANG_PASSWORD_MEMORY_KIB": "1024",
        "SHOUWANG_PASSWORD_TIME_COST": "1",
    }
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "bench/http_load.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
@pytest.mark.skipif(not _postgresql_answers(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_load_test_reports_the_household_read_and_the_batch_submit_against_the_bare_app(
    tmp_path: Path,
) -> None:
    result = _bench(
        tmp_path,
        *("--households", "500", "--seconds", "2", "--rounds", "1", "--warmup", "0"),
        *("--connections", "8", "--cadres", "8", "--data-dir", str(tmp_path)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for row in ("| one household GET | 8 |", "| one household GET | 1 |", "| batch submit, 10 reports | 8 |"):
        assert row in out, out
    assert "8 village cadres" in out
    assert (
        "Answers other than the expected status: 0; socket errors and timeouts: 0; server errors logged: 0"
        in out
    )
    assert "reports stored" in out
    assert "wrk -t 2 -c 8" in out


def test_load_test_refuses_clearly_without_wrk(tmp_path: Path) -> None:
    result = _bench(tmp_path, "--seconds", "1", path=str(tmp_path))
    assert result.returncode != 0
    assert "wrk is not installed" in result.stderr
    assert "apt-get install -y wrk" in result.stderr
