"""Test database: migrated once per process with the real migrations and seeded once; before each test it is
brought back to that seed (the tables a test wrote to are emptied, the seed's rows restored if touched).

SHOUWANG_TEST_DATABASE_URL picks the database (default: a SQLite file); scripts/test runs the suite on
SQLite and on PostgreSQL, on every core with pytest-xdist: each worker process has a database of its own
(SQLite: a file in its own temporary folder; PostgreSQL: the URL's database with the worker's name
appended, `test` -> `test_gw0`, created when missing). Tests commit for real, so concurrency and
commit-time failures are tested as they happen in production.
"""

import gc
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


def worker_database_url(url: str) -> str:
    """The database of this pytest-xdist worker: `…/test` -> `…/test_gw1` (unchanged outside xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


if os.environ.get("PYTEST_XDIST_WORKER"):
    # The workers keep every core busy already: each one's numerical libraries (scikit-learn's OpenMP,
    # OpenBLAS) and the processes it starts run on one thread, instead of threads spinning for a core.
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

_TMP = Path(tempfile.mkdtemp(prefix="shouwang-test-"))
TEST_DATABASE_URL = worker_database_url(os.environ.get("SHOUWANG_TEST_DATABASE_URL") or "") or (
    f"sqlite:///{_TMP / 'test.db'}"
)
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
from sqlalchemy import Connection, Engine, Table, create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import db  # noqa: E402
from app.config import Settings, get_settings  # noqa: E402
from app.demo import regions as demo_regions  # noqa: E402
from app.main import create_app  # noqa: E402
from app.models import Base, PolicyVersion  # noqa: E402
from app.schemas.policy import PolicyData  # noqa: E402
from app.services.platform.audit import GENESIS, HEAD_ID  # noqa: E402

IS_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def _create_database(url: str) -> None:
    """Create a worker's PostgreSQL database when it does not exist yet (from the maintenance database)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if found is None:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


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


@dataclass(frozen=True)
class Seed:
    """The rows every test starts from (Hongta's regions, policy version 1 and their audit entries), table
    by table in primary-key order; every other table starts empty."""

    rows: dict[str, list[dict[str, Any]]]


TABLES: list[Table] = list(Base.metadata.sorted_tables)  # parents before children


def _read(connection: Connection, table: Table) -> list[dict[str, Any]]:
    result = connection.execute(table.select().order_by(*table.primary_key.columns))
    return [dict(row._mapping) for row in result]


def _non_empty(connection: Connection) -> set[str]:
    """The tables holding any row, in one query."""
    query = " UNION ALL ".join(f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})" for t in TABLES)
    return set(connection.execute(text(query)).scalars())


def _parents_first(table: Table, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a table that references itself (a region's parent) ordered so that a parent comes first."""
    links = [(fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table]
    if not links:
        return list(rows)
    ordered: list[dict[str, Any]] = []
    present = {key: {row[key] for row in rows} for _, key in links}
    placed: dict[str, set[Any]] = {key: set() for _, key in links}
    pending = list(rows)
    while pending:
        ready = [
            row
            for row in pending
            if all(
                row[column] is None or row[column] not in present[key] or row[column] in placed[key]
                for column, key in links
            )
        ]
        assert ready, f"{table.name}: rows referencing each other in a cycle"
        for row in ready:
            ordered.append(row)
            for _, key in links:
                placed[key].add(row[key])
        pending = [row for row in pending if row not in ready]
    return ordered


def reset_to_seed(engine: Engine, seed: Seed) -> set[str]:
    """Bring the database back to the seed in one transaction, asking the database what changed (tests
    also write through raw SQL, threads and other processes): tables that hold rows are emptied, except
    a seed table whose rows are exactly the seed's; a seed table that differs in any way is emptied and
    its seed rows inserted again. Returns the names of the tables it rewrote."""
    with engine.begin() as connection:
        dirty = {name for name in _non_empty(connection) if name not in seed.rows}
        for table in TABLES:
            if table.name in seed.rows and _read(connection, table) != seed.rows[table.name]:
                dirty.add(table.name)
        for table in reversed(TABLES):
            if table.name in dirty:
                connection.execute(table.delete())
        for table in TABLES:
            if table.name in dirty and seed.rows.get(table.name):
                connection.execute(table.insert(), _parents_first(table, seed.rows[table.name]))
    return dirty


def _seed(engine: Engine, settings: Settings) -> Seed:
    """Seed the empty database the way the demo and the migration do, and read back what that wrote."""
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO audit_head (id, length, last_mac, head_mac) VALUES (:id, 0, :mac, '')"),
            {"id": HEAD_ID, "mac": GENESIS},
        )
    with time_machine.travel(FROZEN_AT, tick=False), db.session_scope() as session:
        demo_regions.ensure_regions(session, settings)
        # what the migration seeds: policy version 1 with the defaults
        session.add(
            PolicyVersion(version=1, created_by="system:default", data=PolicyData().model_dump(mode="json"))
        )
    with engine.connect() as connection:
        seeded = _non_empty(connection)
        return Seed({t.name: _read(connection, t) for t in TABLES if t.name in seeded})


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Iterator[Engine]:
    from alembic import command

    from app.services.platform.health import alembic_config

    if IS_POSTGRES and os.environ.get("PYTEST_XDIST_WORKER"):
        _create_database(TEST_DATABASE_URL)
    engine = db.get_engine()
    _reset_schema(engine)
    config = alembic_config(settings.database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def db_seed(migrated: Engine, settings: Settings) -> Seed:
    """The seed, made once per process on the freshly migrated database (the migration's own rows
    removed first, as every test used to do)."""
    with migrated.begin() as connection:
        for table in reversed(TABLES):
            connection.execute(table.delete())
    return _seed(migrated, settings)


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
def clean_db(migrated: Engine, db_seed: Seed) -> None:
    """Every test starts from Hongta's regions (plus illustrative villages), policy version 1 and nothing
    else: the database as the seed left it (tests/test_isolation.py proves it)."""
    reset_to_seed(migrated, db_seed)


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
def collector_as_found() -> Iterator[None]:
    """A command run in process (serve, worker, demo-data) tunes the collector for the whole process
    (app/collector.py): put it back, so that no test sees another's setting."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    yield
    if (gc.get_threshold(), gc.get_freeze_count()) != (threshold, frozen):
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.fixture(autouse=True)
def fewer_bootstrap_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Intervals from 30 resamples instead of 200: the same code path, a fraction of the time."""
    from app.risk import evaluation

    monkeypatch.setattr(evaluation, "BOOTSTRAP", 30)
