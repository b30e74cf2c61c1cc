"""Test database: migrated once per run with the real migrations, emptied and re-seeded before each test.

SHOUWANG_TEST_DATABASE_URL picks the database (default: a SQLite file); scripts/test runs the suite on
SQLite and on PostgreSQL. Tests commit for real, so concurrency and commit-time failures are tested as
they happen in production.
"""

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="shouwang-test-"))
TEST_DATABASE_URL = os.environ.get("SHOUWANG_TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
os.environ["SHOUWANG_DATABASE_URL"] = TEST_DATABASE_URL
os.environ["SHOUWANG_ENV"] = "demo"
os.environ["SHOUWANG_PASSWORD_TIME_COST"] = "1"
os.environ["SHOUWANG_PASSWORD_MEMORY_KIB"] = "1024"
os.environ["SHOUWANG_DEMO_HOUSEHOLDS"] = "0"
for _name in (
    "SHOUWANG_SECRET_KEY",
    "SHOUWANG_ENCRYPTION_KEYS",
    "SHOUWANG_LOOKUP_KEY",
    "SHOUWANG_DOCS_ENABLED",
):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
import time_machine  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import db  # noqa: E402
from app.config import Settings, get_settings  # noqa: E402
from app.demo import regions as demo_regions  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Base, PolicyVersion  # noqa: E402
from app.schemas.policy import PolicyData  # noqa: E402
from app.services.platform.audit import GENESIS, HEAD_ID  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _reset_schema(engine: Engine) -> None:
    if IS_POSTGRES:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def settings() -> Settings:
    get_settings.cache_clear()
    db.engine_for.cache_clear()
    db.sessions_for.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Iterator[Engine]:
    from alembic import command

    from app.services.platform.health import alembic_config

    engine = db.get_engine()
    _reset_schema(engine)
    config = alembic_config(settings.database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    yield engine
    engine.dispose()


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        # DELETE, not TRUNCATE: on tables this small it is several times faster on PostgreSQL.
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(
            text("INSERT INTO audit_head (id, length, last_mac, head_mac) VALUES (:id, 0, :mac, '')"),
            {"id": HEAD_ID, "mac": GENESIS},
        )


# 17:30 UTC on Tuesday 1 December is 01:30 on Wednesday 2 December in Hongta: the host's date (on UTC or any
# zone west of it) is not the district's, so a test or a code path that takes "today" from the host fails
# here, whatever the hour the suite runs at. (Tests' fixed dates lie before it.)
FROZEN_AT = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
# Test modules may compute dates when they are imported (a week, a visit date): collection happens at
# FROZEN_AT too, so those agree with the tests' clock.
_collection_clock = time_machine.travel(FROZEN_AT, tick=False)
_collection_clock.start()


def pytest_collection_finish(session: pytest.Session) -> None:
    _collection_clock.stop()


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller | None]:
    """Every test starts at FROZEN_AT, and time then runs on from there (tick), so timeouts still expire.
    Tests marked `real_clock` involve other processes, whose clocks cannot be moved."""
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    with time_machine.travel(FROZEN_AT, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def clean_db(migrated: Engine, settings: Settings) -> None:
    """Every test starts from Hongta's regions (plus illustrative villages) and nothing else."""
    _empty(migrated)
    with db.session_scope() as session:
        demo_regions.ensure_regions(session, settings)
        # what the migration seeds: policy version 1 with the defaults
        session.add(
            PolicyVersion(version=1, created_by="system:default", data=PolicyData().model_dump(mode="json"))
        )


@pytest.fixture
def session(clean_db: None) -> Iterator[Session]:
    """A session for arranging and checking data; commit explicitly to make arrangements visible."""
    with db.session_scope() as s:
        yield s


@pytest.fixture(scope="session")
def app(migrated: Engine, settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A 500 comes back as a response (so it fails an assertion, not the whole run)."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    # An unhandled error's traceback, kept by pytest's log capture, can pin an open SQLite cursor;
    # closing the app's connections keeps that from locking the database for the next test.
    app.state.engine.dispose()


from tests.fixtures import *  # noqa: E402,F403


@pytest.fixture(autouse=True)
def fewer_bootstrap_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Intervals from 30 resamples instead of 200: the same code path, a fraction of the time."""
    from app.risk import model

    monkeypatch.setattr(model, "BOOTSTRAP", 30)
