"""Acceptance 4 of the risk engine, with real processes: two runs started at once give one run, and a
run killed with SIGKILL mid-way leaves the previous results current while the next run completes."""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app import db
from app.cli import main
from app.config import get_settings
from app.models import RiskRun
from app.risk import scorer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.real_clock  # the runs are other processes, on the real clock


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _start_run() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "risk", "run", "--as-of", "2026-01-15"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _district(households: int) -> None:
    result = CliRunner().invoke(main, ["demo-data", "--households", str(households), "--seed", "5"])
    assert result.exit_code == 0, result.output


def test_two_runs_started_together_make_one_run() -> None:
    _district(300)
    first, second = _start_run(), _start_run()
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    with db.session_scope() as session:
        runs = session.scalars(select(RiskRun)).all()
    if codes == [0, 0]:  # the second started after the first had finished: still one run at a time
        assert len(runs) == 2
        assert all(r.status == "completed" for r in runs)
    else:
        assert codes == [0, 3], outputs
        assert len(runs) == 1
        assert runs[0].status == "completed"


def test_a_killed_run_leaves_the_previous_results_and_the_next_run_completes() -> None:
    _district(1500)
    previous = scorer.score_all(
        db.get_sessionmaker(), get_settings(), as_of=date(2026, 1, 15), triggered_by="test"
    )
    process = _start_run()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with db.session_scope() as session:
            # read-only: on SQLite a writing poll would queue behind the run and only see it finished
            session.connection(execution_options={db.READ_ONLY: True})
            if session.scalar(select(RiskRun.id).where(RiskRun.status == "running")):
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the run never started")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    with db.session_scope() as session:
        current = scorer.current_run(session)
        assert current is not None
        assert current.id == previous.id
    after = scorer.score_all(
        db.get_sessionmaker(), get_settings(), as_of=date(2026, 1, 15), triggered_by="test"
    )
    assert after.status == "completed"
    assert after.households_scored == previous.households_scored
