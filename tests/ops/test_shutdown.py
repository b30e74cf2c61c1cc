"""SIGTERM: `serve` finishes the requests under way before it exits; `worker` ends its job at the next
step (a scoring run rolls back and releases its lease) and exits cleanly; the worker serves its metrics."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

from app import db, lifecycle
from app.config import get_settings
from app.models import JobLease, RiskRun
from app.risk import scorer
from tests.fixtures import free_port
from tests.ops.test_metrics import sample

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    base |= {
        "SHOUWANG_DEMO_HOUSEHOLDS": "0",
        "SHOUWANG_PASSWORD_MEMORY_KIB": "1024",
        "SHOUWANG_PASSWORD_TIME_COST": "1",
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / f"{args[0]}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=tmp_path,
        env=base | env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            pytest.fail(f"the process exited: {log.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"{url} never answered: {log.read_text()}")


@pytest.fixture
def stopping() -> Iterator[None]:
    yield
    lifecycle.stopping.clear()


@pytest.mark.real_clock
def test_serve_answers_the_request_under_way_then_exits(tmp_path: Path) -> None:
    port = free_port()
    process, log = _start(["serve", "--port", str(port)], tmp_path)
    try:
        _wait_for(f"http://127.0.0.1:{port}/readyz", process, log)
        body = b"username=nobody&password=not-the-password"
        with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
            conn.sendall(
                b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert process.poll() is None, "serve exited with a request under way"
            conn.sendall(body[10:])
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        # uvicorn, once done, re-raises the signal it caught: the exit status says SIGTERM ended it
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.real_clock
def test_worker_serves_its_metrics_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process, log = _start(
        ["worker"],
        tmp_path,
        SHOUWANG_WORKER_METRICS_PORT=str(port),
        SHOUWANG_WEBHOOK_POLL_SECONDS="1",
        SHOUWANG_RELIEF_POLL_SECONDS="1",
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        _wait_for(url, process, log)
        deadline = time.monotonic() + 60  # the first poll is a second away, more on a busy machine
        while time.monotonic() < deadline:
            text = httpx.get(url).text
            if sample(text, "shouwang_job_runs_total", job="webhook_delivery", outcome="ok"):
                break
            time.sleep(0.1)
        assert sample(text, "shouwang_job_runs_total", job="webhook_delivery", outcome="ok")
        assert sample(text, "shouwang_outbox_backlog", kind="relief") == 0
        assert sample(text, "shouwang_database_up") == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "worker stopped" in log.read_text()


def test_a_scoring_run_told_to_stop_rolls_back_and_releases_its_lease(poor: int, stopping: None) -> None:
    lifecycle.stopping.set()
    with pytest.raises(lifecycle.ShuttingDown):
        scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=date(2026, 12, 1), triggered_by="tests")
    with db.session_scope() as session:
        [run] = session.scalars(select(RiskRun)).all()
        assert run.status == "failed"
        assert "shutting down" in (run.error or "")
        assert session.scalar(select(JobLease).where(JobLease.name == scorer.LEASE)) is None
        assert scorer.current_run(session) is None  # nothing half-written became current
    lifecycle.stopping.clear()
    assert (
        scorer.score_all(
            db.get_sessionmaker(), get_settings(), as_of=date(2026, 12, 1), triggered_by="tests"
        ).status
        == "completed"
    )


def test_a_job_ended_by_sigterm_counts_as_stopped_not_as_an_error() -> None:
    from prometheus_client import CollectorRegistry

    from app.metrics import JobMetrics
    from app.worker.schedule import _measured

    registry = CollectorRegistry()
    metrics = JobMetrics(registry)

    def interrupted() -> None:
        raise lifecycle.ShuttingDown("the process is shutting down")

    _measured("nightly_scoring", interrupted, metrics)()  # not raised: APScheduler logs no error
    assert (
        registry.get_sample_value("shouwang_job_runs_total", {"job": "nightly_scoring", "outcome": "stopped"})
        == 1
    )
    assert (
        registry.get_sample_value("shouwang_job_runs_total", {"job": "nightly_scoring", "outcome": "error"})
        is None
    )


def test_the_worker_serves_metrics_on_this_host_only_by_default() -> None:
    from app.config import Settings

    assert Settings.model_fields["worker_metrics_host"].default == "127.0.0.1"


@pytest.mark.real_clock
def test_a_worker_whose_metrics_port_is_taken_says_so_and_exits(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process, log = _start(["worker"], tmp_path, SHOUWANG_WORKER_METRICS_PORT=str(port))
        assert process.wait(timeout=60) == 2
    output = log.read_text()
    assert f"127.0.0.1:{port}" in output
    assert "SHOUWANG_WORKER_METRICS_PORT" in output
    assert "Traceback" not in output
