"""Acceptance: a backup is restored into a fresh database and `audit verify` passes on it against the
backup's checkpoint, with every row as it was; a tampered restore fails the check; restore refuses a
database that is not empty, and backup a file that exists."""

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import db
from app.cli import main
from app.config import Settings
from app.db import make_engine
from app.models import Base
from app.models.enums import RegionLevel, Role
from app.services.platform.access import Actor
from app.services.platform.audit import Checkpoint
from app.services.platform.health import head_revisions
from app.services.registry import household_views, households
from tests.conftest import IS_POSTGRES, TEST_DATABASE_URL
from tests.fixtures import COUNTY, Accounts, member_body, new_household, report_body

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the suite's kind."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def household_id(client: TestClient, accounts: Accounts) -> int:
    """Data arranged through the API (each write audited): a household, a member added, a report."""
    accounts.create("district")  # reads it back after the restore
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    added = client.post(
        f"/api/v1/households/{household['id']}/members", json=member_body("之女", male=False), headers=cadre
    )
    assert added.status_code == 201, added.text
    report = report_body("2025", "2025-01-01", "2025-12-31")
    response = client.post(f"/api/v1/households/{household['id']}/reports", json=report, headers=cadre)
    assert response.status_code == 201, response.text
    return int(household["id"])


def _shouwang(args: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOUWANG_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _backup(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "shouwang.backup"
    result = runner.invoke(main, ["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    checkpoint = tmp_path / "shouwang.backup.audit.json"
    assert f"backup written to {out}" in result.output
    assert str(checkpoint) in result.output
    return out, checkpoint


def _restore(out: Path, url: str, tmp_path: Path) -> None:
    restored = _shouwang(["restore", "--from", str(out)], url, tmp_path)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"database schema at {', '.join(sorted(head_revisions()))}" in restored.stdout


def _rows(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as connection:
        return {
            table.name: list(connection.execute(select(table).order_by(*table.primary_key.columns)))
            for table in Base.metadata.sorted_tables
        }


def _household(engine: Engine, settings: Settings, user_id: int, household_id: int) -> dict[str, Any]:
    """The household as the district sees it, ID numbers and phone revealed (the reveal's audit row is
    rolled back)."""
    district = Actor(user_id, "district", Role.district_officer, COUNTY, RegionLevel.county)
    with Session(engine) as session:
        household = households.load(session, district, household_id)
        view = household_views.household_view(session, settings, district, household, reveal=True)
        session.rollback()
    return view.model_dump()


def test_a_backup_restored_into_a_fresh_database_passes_audit_verify(
    household_id: int, accounts: Accounts, settings: Settings, fresh_url: str, tmp_path: Path
) -> None:
    out, checkpoint_file = _backup(tmp_path)
    for path in (out, checkpoint_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # password hashes and ciphertext: owner only
    checkpoint = Checkpoint.from_json(checkpoint_file.read_text())
    original = db.get_engine()
    with original.connect() as connection:
        assert checkpoint.length == connection.scalar(text("SELECT length FROM audit_head")) > 3

    _restore(out, fresh_url, tmp_path)
    verified = _shouwang(["audit", "verify", "--checkpoint", str(checkpoint_file)], fresh_url, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"audit chain intact: {checkpoint.length} entries" in verified.stdout

    restored = make_engine(fresh_url)
    try:
        assert _rows(restored) == _rows(original)
        before = _household(original, settings, accounts.ids["district"], household_id)
        after = _household(restored, settings, accounts.ids["district"], household_id)
        assert after == before
        assert len(after["members"]) == 4
    finally:
        restored.dispose()


def test_a_tampered_restore_fails_audit_verify(household_id: int, fresh_url: str, tmp_path: Path) -> None:
    out, checkpoint_file = _backup(tmp_path)
    _restore(out, fresh_url, tmp_path)
    restored = make_engine(fresh_url)
    try:
        with restored.begin() as connection:
            connection.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 2"))
    finally:
        restored.dispose()
    verified = _shouwang(["audit", "verify", "--checkpoint", str(checkpoint_file)], fresh_url, tmp_path)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "row 2: contents do not match its mac (edited)" in verified.stderr
    assert Checkpoint.from_json(checkpoint_file.read_text()).length > 2  # a failed check leaves it


def test_restore_refuses_a_database_that_is_not_empty(household_id: int, tmp_path: Path) -> None:
    out, _ = _backup(tmp_path)
    before = _rows(db.get_engine())
    result = runner.invoke(main, ["restore", "--from", str(out)])  # into the suite's own database
    assert result.exit_code == 1
    assert "is not empty: restore only into a new database" in result.output
    assert _rows(db.get_engine()) == before


def test_backup_never_overwrites_a_file(household_id: int, tmp_path: Path) -> None:
    out = tmp_path / "shouwang.backup"
    out.write_text("an older backup")
    result = runner.invoke(main, ["backup", "--out", str(out)])
    assert result.exit_code == 1
    assert "exists: a backup never overwrites a file" in result.output
    assert out.read_text() == "an older backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shouwang.backup"]  # nothing half-written

    checkpoint = tmp_path / "elsewhere.json"
    checkpoint.write_text("{}")
    result = runner.invoke(
        main, ["backup", "--out", str(tmp_path / "new.backup"), "--checkpoint", str(checkpoint)]
    )
    assert result.exit_code == 1
    assert not (tmp_path / "new.backup").exists()
