"""Backups of the whole database, each with the audit checkpoint of the same snapshot, and restoring one
into an empty database.

SQLite: the online backup API (a consistent copy while the service writes). PostgreSQL: pg_dump's custom
format, taken in a snapshot exported by the transaction that reads the audit chain's head, so the
checkpoint names exactly the chain the dump holds. Personal data stays encrypted in a backup; the keys are
not in it.
"""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, Connection, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from app.db import make_engine
from app.models import AuditHead
from app.services.platform.audit import GENESIS, HEAD_ID, Checkpoint


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why (and never holds personal data)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    checkpoint_path: Path
    checkpoint: Checkpoint


def checkpoint_path_for(backup_path: Path) -> Path:
    return backup_path.with_name(backup_path.name + ".audit.json")


def backup(database_url: str, out: Path, checkpoint_path: Path | None = None) -> Backup:
    """Write the database to `out` and its audit checkpoint to `checkpoint_path` (default OUT.audit.json).

    Neither file may exist; nothing is left behind on failure, and `out` appears only when complete."""
    checkpoint_path = checkpoint_path or checkpoint_path_for(out)
    for path in (out, checkpoint_path):
        if path.exists():
            raise BackupError(f"{path} exists: a backup never overwrites a file")
    partial = out.with_name(out.name + ".partial")
    _create_private(partial)
    written: list[Path] = []
    try:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            checkpoint = _backup_sqlite(_sqlite_file(url), partial)
        elif url.get_backend_name() == "postgresql":
            checkpoint = _backup_postgres(database_url, partial)
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        _create_private(checkpoint_path, checkpoint.to_json())
        written.append(checkpoint_path)
        try:
            os.link(partial, out)  # unlike a rename, refuses a file that appeared meanwhile
        except FileExistsError:
            raise BackupError(f"{out} exists: a backup never overwrites a file") from None
        written.append(out)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    finally:
        partial.unlink(missing_ok=True)
    return Backup(out, checkpoint_path, checkpoint)


def restore(database_url: str, source: Path) -> None:
    """Load a backup into the configured database, which must be empty (no tables)."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _restore_sqlite(source, _sqlite_file(url))
    elif url.get_backend_name() == "postgresql":
        _restore_postgres(database_url, source)
    else:
        raise BackupError(f"cannot restore into a {url.get_backend_name()} database")


def _create_private(path: Path, content: str = "") -> None:
    """Create a new file only its owner can read (a backup holds password hashes and ciphertext)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{path} exists (another backup running, or one that failed: remove it)") from None
    with os.fdopen(fd, "w") as f:
        f.write(content)


def _sqlite_file(url: URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _connect_existing(path: Path) -> sqlite3.Connection:
    # mode=rw: a missing file is an error, not a new empty database
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None)


def _backup_sqlite(database: Path, partial: Path) -> Checkpoint:
    if not database.is_file():
        raise BackupError(f"no SQLite database at {database}")
    source = _connect_existing(database)
    target = sqlite3.connect(partial, isolation_level=None)
    try:
        source.backup(target)  # in one step: the copy is one consistent snapshot
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        try:
            row = target.execute(
                "SELECT length, last_mac FROM audit_head WHERE id = ?", (HEAD_ID,)
            ).fetchone()
        except sqlite3.OperationalError:
            raise BackupError(f"{database} is not a shouwang database (no audit_head table)") from None
    finally:
        target.close()
        source.close()
    return Checkpoint(length=0, mac=GENESIS) if row is None else Checkpoint(length=row[0], mac=row[1])


def _restore_sqlite(source: Path, database: Path) -> None:
    try:
        backup_db = _connect_existing(source)
        try:
            if backup_db.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise BackupError(f"{source} is damaged (SQLite quick_check failed)")
            if not {"alembic_version", "audit_head"} <= _sqlite_tables(backup_db):
                raise BackupError(f"{source} is not a shouwang backup")
            target = sqlite3.connect(database, isolation_level=None)
            try:
                if _sqlite_tables(target):
                    raise BackupError(f"{database} is not empty: restore only into a new database")
                backup_db.backup(target)  # the target's own locking and journal keep it whole
            finally:
                target.close()
        finally:
            backup_db.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"SQLite: {exc}") from None


def _sqlite_tables(connection: sqlite3.Connection) -> set[str]:
    return {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _read_head(connection: Connection) -> Checkpoint:
    row = connection.execute(
        select(AuditHead.length, AuditHead.last_mac).where(AuditHead.id == HEAD_ID)
    ).one_or_none()
    return Checkpoint(length=0, mac=GENESIS) if row is None else Checkpoint(length=row[0], mac=row[1])


def _backup_postgres(database_url: str, partial: Path) -> Checkpoint:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as connection:
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            try:
                checkpoint = _read_head(connection)
            except ProgrammingError:
                raise BackupError("not a shouwang database (no audit_head table)") from None
            # the exported snapshot lives as long as this transaction: pg_dump runs inside it
            _pg_tool(
                "pg_dump",
                ["--format=custom", f"--snapshot={snapshot}", f"--file={partial}"],
                database_url,
            )
            connection.rollback()
    finally:
        engine.dispose()
    return checkpoint


def _restore_postgres(database_url: str, source: Path) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT count(*) FROM information_schema.tables"
                    " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the database is not empty: restore only into a new database")
    # Owners and grants are the restoring user's: the original roles need not exist on this server.
    _pg_tool(
        "pg_restore",
        ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(source)],
        database_url,
    )


def _pg_tool(name: str, args: list[str], database_url: str) -> None:
    program = shutil.which(name)
    if program is None:
        raise BackupError(f"{name} not found on PATH (Debian: the postgresql-client package)")
    url = make_url(database_url)
    conninfo = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, which any user can list
    completed = subprocess.run(
        [program, "--no-password", *args, f"--dbname={conninfo}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BackupError(f"{name} failed (exit {completed.returncode}): {_tool_errors(completed.stderr)}")


def _tool_errors(stderr: str) -> str:
    """pg_dump's and pg_restore's error lines, cut before the DETAIL and CONTEXT that can quote row values."""
    lines = [line for line in stderr.splitlines() if "error:" in line]
    cut = [line.split("DETAIL:")[0].split("CONTEXT:")[0].strip() for line in lines[:5]]
    return "; ".join(cut) or "no error message"
