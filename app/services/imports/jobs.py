"""Imports sent through the API: queued with the file kept encrypted, run by the worker (claimed by a
conditional update, so two workers never run one job; a job whose worker died is run again, which an
idempotent import allows), their progress and report read back, and the workbook of rows to fix."""

import codecs
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, undefer

from app.config import Settings
from app.db import Sessions, transaction
from app.errors import AppError, Invalid, NotFound, TooLarge
from app.models import ImportJob, User
from app.models.base import utcnow
from app.models.enums import ROLE_REGION_LEVEL, Role
from app.pii import cipher_for
from app.services.imports import mapping, problems, runner
from app.services.imports.rows import Problem, check_values
from app.services.imports.sources import XLSX_MAGIC
from app.services.platform import access, audit
from app.services.platform.access import Actor

logger = logging.getLogger(__name__)

IMPORTERS = frozenset({Role.admin, Role.district_officer})
ROW_READERS = frozenset({Role.district_officer})  # admins read no household data
LEASE = timedelta(minutes=2)
PROBLEMS_SHOWN = 500  # in the job's answer; the workbook and the CLI have them all


def submit(
    session: Session,
    settings: Settings,
    actor: Actor,
    *,
    content: bytes,
    file_name: str,
    mapping_text: str | None,
    dry_run: bool,
    skip_invalid: bool,
    note: str,
) -> ImportJob:
    access.require_role(actor, IMPORTERS, "importing households")
    if actor.user_id is None:
        raise Invalid("an import is sent by an account", field="file")
    if len(content) > settings.import_max_bytes:
        raise TooLarge(f"the file is over {settings.import_max_bytes // (1024 * 1024)} MiB", field="file")
    if not content:
        raise Invalid("the file is empty", field="file")
    if not content.startswith(XLSX_MAGIC) and not _text_start(content):
        raise Invalid("the file is neither an XLSX workbook nor a CSV text", field="file")
    if mapping_text is not None:
        check_values(mapping.parse(mapping_text))  # a bad mapping is refused now, not in the worker
    job = ImportJob(
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        file_name=file_name[-200:] or "upload",
        file_size=len(content),
        content_encrypted=cipher_for(settings).encrypt_bytes(content),
        mapping_text=mapping_text,
        note=(note.strip() or f"imported from {file_name}")[:500],
        created_by=actor.user_id,
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "import.submit",
                "import_job",
                job.id,
                None,
                {"file_name": job.file_name, "dry_run": dry_run, "skip_invalid": skip_invalid},
            )
        ],
    )
    return job


def _text_start(content: bytes) -> bool:
    """Whether the file begins as text a CSV may be in (its first 64 KiB; a character cut at the end of
    them is not an error: the incremental decoder waits for the rest)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(content[:65536], final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


def get(session: Session, actor: Actor, job_id: int, *, content: bool = False) -> ImportJob:
    """A job, for the county's importers (the office shares its imports)."""
    access.require_role(actor, IMPORTERS, "reading imports")
    stmt = select(ImportJob).where(ImportJob.id == job_id)
    if content:
        stmt = stmt.options(undefer(ImportJob.content_encrypted))
    job = session.scalars(stmt).one_or_none()
    if job is None:
        raise NotFound(f"import {job_id} not found", field="import_id")
    return job


def listing(session: Session, actor: Actor, limit: int = 50) -> list[ImportJob]:
    access.require_role(actor, IMPORTERS, "reading imports")
    return list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def problems_workbook(session: Session, settings: Settings, actor: Actor, job_id: int) -> bytes:
    """The rows to fix hold names and ID numbers: the district office's, not an admin's."""
    access.require_role(actor, ROW_READERS, "reading an import's rows")
    job = get(session, actor, job_id, content=True)
    if job.status != "done" or not job.summary or not job.summary.get("problem_count"):
        raise NotFound("this import has no rows to fix", field="import_id")
    if job.content_encrypted is None:
        raise NotFound("the file was dropped after the retention period", field="import_id")
    found = [
        Problem(p["line"], p["column"], p["column_letter"], p["field"], p["message"])
        for p in job.summary["problems"]
    ]
    columns = mapping.parse(job.mapping_text) if job.mapping_text else mapping.load()
    out = io.BytesIO()
    source = io.BytesIO(cipher_for(settings).decrypt_bytes(job.content_encrypted))
    problems.write(source, columns, found, set(job.summary.get("invalid_households", [])), out)
    return out.getvalue()


def shown(job: ImportJob) -> dict[str, object] | None:
    """The report as the API answers it: counts, and the first problems (all are in the workbook)."""
    if job.summary is None:
        return None
    summary = dict(job.summary)
    summary["problems"] = summary.get("problems", [])[:PROBLEMS_SHOWN]
    summary["warnings"] = summary.get("warnings", [])[:PROBLEMS_SHOWN]
    summary.pop("invalid_households", None)
    return summary


# --- the worker's side ---------------------------------------------------------------------------


def _claim(sessions: Sessions) -> int | None:
    now = utcnow()
    with transaction(sessions) as session:
        runnable = or_(
            ImportJob.status == "queued", (ImportJob.status == "running") & (ImportJob.lease_until < now)
        )
        job_id = session.scalar(select(ImportJob.id).where(runnable).order_by(ImportJob.id).limit(1))
        if job_id is None:
            return None
        claimed = session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id, runnable)
            .values(status="running", started_at=now, lease_until=now + LEASE, rows_done=0, phase="check")
        ).rowcount  # type: ignore[attr-defined]
    return job_id if claimed else None


def _progress(sessions: Sessions, job_id: int, phase: str, rows: int) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(phase=phase, rows_done=rows, lease_until=utcnow() + LEASE)
        )


def run_next(sessions: Sessions, settings: Settings) -> ImportJob | None:
    """Claim the oldest queued import and run it; None when there is none (or another worker took it)."""
    job_id = _claim(sessions)
    if job_id is None:
        return None
    with transaction(sessions) as session:
        job = session.scalars(
            select(ImportJob).where(ImportJob.id == job_id).options(undefer(ImportJob.content_encrypted))
        ).one()
        assert job.content_encrypted is not None
        content = cipher_for(settings).decrypt_bytes(job.content_encrypted)
        mapping_text, dry_run, skip_invalid, note = job.mapping_text, job.dry_run, job.skip_invalid, job.note
        user = session.get(User, job.created_by)
        assert user is not None
        importer = Actor(user.id, user.username, user.role, user.region_code, ROLE_REGION_LEVEL[user.role])

    @contextmanager
    def opener() -> Iterator[IO[bytes]]:
        yield io.BytesIO(content)

    status, summary, error = "done", None, None
    try:
        columns = mapping.parse(mapping_text) if mapping_text else mapping.load()
        result = runner.run(
            sessions,
            settings,
            importer,
            opener,
            columns,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            note=note,
            progress=lambda phase, rows: _progress(sessions, job_id, phase, rows),
        )
        summary = result.as_dict()
    except AppError as exc:
        status, error = "failed", exc.message  # about the file or the mapping as a whole
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__} (see the worker's log)"
        logger.exception("import failed", extra={"import_id": job_id})
    with transaction(sessions) as session:
        stored = session.get(ImportJob, job_id)
        assert stored is not None
        stored.status, stored.summary, stored.error = status, summary, error[:500] if error else None
        stored.finished_at, stored.lease_until = utcnow(), None
        stored.rows_total = summary["rows"] if summary else None
        session.flush()
        session.expunge(stored)
    logger.info("import finished", extra={"import_id": job_id, "status": status})
    return stored


def drop_old_files(sessions: Sessions, settings: Settings) -> int:
    """Files of finished imports older than the retention are dropped (their reports stay)."""
    cutoff = utcnow() - timedelta(days=settings.import_retention_days)
    with transaction(sessions) as session:
        dropped = session.execute(
            update(ImportJob)
            .where(
                ImportJob.status.in_(("done", "failed")),
                ImportJob.finished_at < cutoff,
                ImportJob.content_encrypted.is_not(None),
            )
            .values(content_encrypted=None)
        ).rowcount  # type: ignore[attr-defined]
    return int(dropped)
