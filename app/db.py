"""Engine and session factory; one transaction per unit of work."""

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.config import get_settings

READ_ONLY = "shouwang_read_only"
# Work that only reads says so, and the database holds it to it: on SQLite a plain BEGIN (beside writers,
# as WAL allows) under PRAGMA query_only; on PostgreSQL a READ ONLY transaction. A read that wrote would
# fail on SQLite only when a writer happened to be there ("database is locked"); now it fails at once.
READ_ONLY_OPTIONS: dict[str, Any] = {READ_ONLY: True, "postgresql_readonly": True}


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and serialised write transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
            json_deserializer=_load_json,
        )
        _configure_sqlite(engine)
        _name_read_only_writes(engine)
        return engine
    # max_overflow=0: overflow connections churn under load (see shared/PERFORMANCE.md).
    # hide_parameters: statement parameters hold personal data and must never reach a log line.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        hide_parameters=True,
        json_deserializer=_load_json,
    )
    _name_read_only_writes(engine)
    return engine


# JSON columns hold text as \uXXXX escapes (SQLite's text, PostgreSQL's json type), so an unpaired surrogate
# sent before input was checked could be stored there; read back, it could not be encoded into a response.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _load_json(text: str | bytes) -> Any:
    value = json.loads(text)
    if isinstance(text, bytes):  # psycopg hands PostgreSQL's json over as bytes
        escaped = _SURROGATE_ESCAPE_BYTES.search(text) is not None
    else:
        escaped = _SURROGATE_ESCAPE.search(text) is not None
    return _replace_surrogates(value) if escaped else value


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; take control of BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: two read-then-write transactions can then never
        # deadlock on the lock upgrade, which SQLite would report as "database is locked". Work that
        # only reads says so (READ_ONLY) and runs beside writers, as WAL allows.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        if read_only:
            conn.exec_driver_sql("PRAGMA query_only = 1")
            conn.connection.info[QUERY_ONLY] = True
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # the next user of the connection may write (or take it raw, past the begin event above)
        if record.info.pop(QUERY_ONLY, False):
            dbapi_connection.execute("PRAGMA query_only = 0")


QUERY_ONLY = "shouwang_query_only"


class ReadOnlyWrite(RuntimeError):
    """Work that said it only reads wrote: a mistake in the code, not the database being unavailable."""


def _name_read_only_writes(engine: Engine) -> None:
    """The database's refusal of a write in a read-only transaction, said as what it is (SQLite calls
    it a read-only database, which the API would answer as the database being unreachable)."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> BaseException | None:
        connection = context.connection
        if connection is None or not connection.get_execution_options().get(READ_ONLY, False):
            return None
        error = context.original_exception
        refused = getattr(error, "sqlstate", None) == "25006" or "readonly database" in str(error)
        return ReadOnlyWrite(f"a read-only transaction tried to write: {error}") if refused else None


# What work that spans several transactions (a scoring run, a delivery pass) is given by its caller.
Sessions = sessionmaker[Session]


@lru_cache
def engine_for(url: str, pool_size: int) -> Engine:
    """One engine (one pool) per database per process: the app, the worker's jobs and the CLI share it."""
    return make_engine(url, pool_size=pool_size)


@lru_cache
def sessions_for(engine: Engine) -> Sessions:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def get_engine() -> Engine:
    settings = get_settings()
    return engine_for(settings.database_url, settings.db_pool_size)


def get_sessionmaker() -> Sessions:
    return sessions_for(get_engine())


@contextmanager
def transaction(sessions: Sessions) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_scope() -> AbstractContextManager[Session]:
    """A transaction on this process's database: for callers (CLI commands, worker jobs, tests)."""
    return transaction(get_sessionmaker())


@contextmanager
def read_only_session() -> Iterator[Session]:
    """A read-only transaction on this process's database (READ_ONLY_OPTIONS), for command-line reads."""
    with session_scope() as session:
        session.connection(execution_options=READ_ONLY_OPTIONS)
        yield session
