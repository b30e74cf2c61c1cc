"""Migrating the schema to head once, however many processes ask at the same time, and refusing to run
on a schema that is not at head."""

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import make_engine
from app.services.platform.health import alembic_config, current_revisions, head_revisions

MIGRATE_LOCK_KEY = 0x5357_4D49  # "SWMI": the advisory lock held while migrating (PostgreSQL)


@dataclass(frozen=True)
class Migration:
    before: frozenset[str]
    after: frozenset[str]

    @property
    def migrated(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        if self.migrated:
            before, after = revisions_text(self.before), revisions_text(self.after)
            return f"database schema migrated from {before} to {after}"
        return f"database schema already at head ({revisions_text(self.after)})"


def revisions_text(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) or "nothing (empty database)"


def revisions(database_url: str) -> frozenset[str]:
    engine = make_engine(database_url, pool_size=1)
    try:
        return current_revisions(engine)
    finally:
        engine.dispose()


@contextmanager
def migration_lock(database_url: str, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Held by one process at a time; the others wait here (calling on_wait once) until it is released.

    PostgreSQL: a session-level advisory lock on a connection of its own (alembic migrates on another).
    SQLite: an flock on a file next to the database file; the database's own write lock cannot be used,
    since the migration's connection needs it.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        engine = make_engine(database_url, pool_size=1)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                key = {"key": MIGRATE_LOCK_KEY}
                if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
                    on_wait()
                    connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        finally:
            engine.dispose()
        return
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        yield  # a private in-memory database: nobody else can migrate it
        return
    # The lock file stays: removing it would let a waiter lock a file that a newcomer no longer sees.
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def upgrade_to_head(database_url: str, on_wait: Callable[[], None] = lambda: None) -> Migration:
    """Upgrade to head under the migration lock: a process that waited finds the schema at head and
    leaves it."""
    with migration_lock(database_url, on_wait):
        before = revisions(database_url)
        if before == head_revisions():
            return Migration(before, before)
        config = alembic_config(database_url)
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        return Migration(before, revisions(database_url))


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def problem(database_url: str) -> str | None:
    """Why this code must not run on the database's schema, or None when it is at head."""
    current, head = revisions(database_url), head_revisions()
    if current == head:
        return None
    if not all(_known(r) for r in current):
        return (
            f"the database schema is at {revisions_text(current)}, which this version of shouwang does not "
            f"know (it expects {revisions_text(head)}): the database was migrated by a newer version"
        )
    return (
        f"the database schema is at {revisions_text(current)} but this version of shouwang expects "
        f"{revisions_text(head)}: run `shouwang migrate` first"
    )
