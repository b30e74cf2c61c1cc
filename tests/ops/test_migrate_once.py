"""Migrations run once: two processes started together on an old schema do not both migrate, and in
production `serve` and `worker` refuse a schema that is not at head (`shouwang migrate` migrates)."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.ops import schema
from app.services.platform.health import alembic_config, head_revisions
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.fixtures import free_port
from tests.ops.test_cli import PRODUCTION_SECRETS, invoke_in_production

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.real_clock  # the commands are other processes, on the real clock


def _previous_head() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    (head,) = script.get_heads()
    revision = script.get_revision(head)
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


PREVIOUS, (HEAD,) = _previous_head(), head_revisions()


@pytest.fixture
def old_schema(tmp_path: Path) -> Iterator[str]:
    """A fresh database of the suite's kind at the revision before head."""
    if IS_POSTGRES:
        url = make_url(TEST_DATABASE_URL)
        name = f"{url.database}_migrate_once"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        database_url = url.set(database=name).render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, PREVIOUS)
    assert schema.revisions(database_url) == {PREVIOUS}
    yield database_url
    if IS_POSTGRES:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _env(database_url: str, *, production: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "SHOUWANG_DATABASE_URL": database_url,
        "SHOUWANG_DEMO_HOUSEHOLDS": "0",
        "SHOUWANG_PASSWORD_MEMORY_KIB": "1024",
        "SHOUWANG_PASSWORD_TIME_COST": "1",
    }
    if production:
        env |= {"SHOUWANG_ENV": "production", **PRODUCTION_SECRETS}
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            pytest.fail(f"serve exited: {log.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"serve never became ready: {log.read_text()}")


MIGRATED = f"database schema migrated from {PREVIOUS} to {HEAD}"
AT_HEAD = f"database schema already at head ({HEAD})"
WAITING = "another process is migrating the database: waiting"
REFUSAL = (
    f"the database schema is at {PREVIOUS} but this version of shouwang expects {HEAD}: "
    "run `shouwang migrate` first"
)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=20)


def _start_together(
    database_url: str, runs: list[tuple[list[str], Path]], env: dict[str, str], started: list[Any]
) -> None:
    """Start the commands while this test holds the migration lock, and release it once every one is
    waiting for it: they then contend at the same moment, however long each took to start."""
    with schema.migration_lock(database_url):
        for args, log in runs:
            with log.open("wb") as out:
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "app.cli", *args],
                        cwd=log.parent,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 60
        while not all(WAITING in log.read_text() for _, log in runs):
            if any(p.poll() is not None for p in started) or time.monotonic() > deadline:
                pytest.fail(
                    "not every process waited for the lock: " + repr([log.read_text() for _, log in runs])
                )
            time.sleep(0.05)


def test_two_serves_started_together_migrate_once(
    old_schema: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    ports, logs = [free_port(), free_port()], [tmp_path / "a.log", tmp_path / "b.log"]
    runs = [(["serve", "--port", str(port)], log) for port, log in zip(ports, logs, strict=True)]
    _start_together(old_schema, runs, _env(old_schema), processes)
    for port, log, process in zip(ports, logs, processes, strict=True):
        _wait_ready(f"http://127.0.0.1:{port}", process, log)
    outputs = [log.read_text() for log in logs]
    assert sum(MIGRATED in o for o in outputs) == 1, outputs
    assert sum(AT_HEAD in o for o in outputs) == 1, outputs
    assert schema.revisions(old_schema) == {HEAD}


def test_two_migrates_started_together_both_succeed_once(
    old_schema: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    env = _env(old_schema, production=True)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    _start_together(old_schema, [(["migrate"], log) for log in logs], env, processes)
    assert [p.wait(timeout=60) for p in processes] == [0, 0]
    outputs = [log.read_text() for log in logs]
    assert sum(MIGRATED in o for o in outputs) == 1, outputs
    assert sum(AT_HEAD in o for o in outputs) == 1, outputs
    assert schema.revisions(old_schema) == {HEAD}
    # and once more, alone: nothing to do, no waiting
    again = _run(["migrate"], env, tmp_path).communicate(timeout=60)[0]
    assert AT_HEAD in again
    assert WAITING not in again


def test_production_serve_refuses_an_old_schema(old_schema: str, tmp_path: Path) -> None:
    process = _run(["serve", "--port", "1"], _env(old_schema, production=True), tmp_path)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 2, output
    assert REFUSAL in output
    assert "Traceback" not in output
    assert schema.revisions(old_schema) == {PREVIOUS}  # untouched


def test_production_worker_refuses_an_old_schema(old_schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOUWANG_DATABASE_URL", old_schema)
    result = invoke_in_production(monkeypatch, ["worker"])
    assert result.exit_code == 2, result.output
    assert REFUSAL in result.output
    assert schema.revisions(old_schema) == {PREVIOUS}


def test_production_names_a_schema_newer_than_the_code(old_schema: str) -> None:
    engine = create_engine(old_schema)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    engine.dispose()
    message = schema.problem(old_schema)
    assert message is not None
    assert "f00dfeedbeef" in message
    assert "newer version" in message
