"""Readiness: the database answers and its schema is at the head revision."""

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.db import READ_ONLY_OPTIONS

ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@lru_cache
def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> frozenset[str]:
    # read-only: on SQLite it then runs beside a writer instead of queueing behind its write lock
    with engine.connect() as connection:
        connection.execution_options(**READ_ONLY_OPTIONS)
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def readiness(engine: Engine) -> tuple[bool, str]:
    """Whether the database answers and its schema is at the head. Only reads: a probe must answer at
    once, even while a long import holds the write lock."""
    try:
        current = current_revisions(engine)  # (reading the revision is the database answering)
    except SQLAlchemyError as exc:
        return False, f"database unreachable: {type(exc).__name__}"
    if current != head_revisions():
        return False, f"schema at {sorted(current) or 'nothing'}, expected {sorted(head_revisions())}"
    return True, "database reachable, schema at head"
