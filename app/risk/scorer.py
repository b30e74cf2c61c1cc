"""Score every household: features → rules (→ model, once trained) → results, in one transaction.

All results of a run and its "completed" mark commit together, so a run that is killed leaves nothing
half-written and the previous completed run stays current. One run at a time: a lease in the database.
"""

import logging
import time
from dataclasses import asdict
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import bulk
from app.db import session_scope
from app.models import Base, Household, RiskRun
from app.models.base import utcnow
from app.risk import features, rules
from app.schemas.policy import PolicyData
from app.services import audit, leases
from app.services import policy as policy_service

logger = logging.getLogger(__name__)
LEASE = "risk_scoring"
LEASE_TTL = timedelta(minutes=10)
CHUNK = 5000
RESULT_TABLE = Base.metadata.tables["risk_result"]


class AlreadyRunning(Exception):
    """Another process holds the scoring lease."""


class LeaseLost(Exception):
    """The run's lease expired and another run took it: this run must not complete."""


def current_run(session: Session) -> RiskRun | None:
    """The latest completed run: the one whose results are in force."""
    return session.scalars(
        select(RiskRun).where(RiskRun.status == "completed").order_by(RiskRun.id.desc()).limit(1)
    ).first()


def request_run(session: Session, *, as_of: date, requested_by: str) -> RiskRun:
    """Ask the worker for a run (an admin's trigger); an open request is reused, not duplicated."""
    audit.lock_chain(session)  # two admins at once must not both add a request
    pending = session.scalars(select(RiskRun).where(RiskRun.status == "requested").limit(1)).first()
    if pending is not None:
        return pending
    version, _ = policy_service.current_data(session)
    run = RiskRun(
        as_of=as_of, mode="rules", policy_version=version, triggered_by=requested_by, status="requested"
    )
    session.add(run)
    session.flush()
    return run


def has_request(session: Session) -> bool:
    return session.scalar(select(RiskRun.id).where(RiskRun.status == "requested").limit(1)) is not None


def score_all(*, as_of: date, triggered_by: str) -> RiskRun:
    """Run a complete scoring; raises AlreadyRunning if another run holds the lease."""
    holder = leases.holder_id()
    if not leases.acquire(LEASE, holder, LEASE_TTL):
        raise AlreadyRunning("another scoring run is in progress")
    try:
        with session_scope() as session:
            # runs left "running" by a holder that died can never finish: say so
            session.execute(
                update(RiskRun).where(RiskRun.status == "running").values(status="failed", error="abandoned")
            )
            version, policy = policy_service.current_data(session)
            run = session.scalars(
                select(RiskRun).where(RiskRun.status == "requested").order_by(RiskRun.id).limit(1)
            ).first()
            if run is None:
                run = RiskRun(as_of=as_of, mode="rules", policy_version=version, triggered_by=triggered_by)
                session.add(run)
            else:  # an admin's request, picked up by this run
                run.status, run.policy_version, run.started_at = "running", version, utcnow()
            session.flush()
            as_of = run.as_of
        try:
            return _score(run.id, as_of, holder, policy)
        except Exception as exc:
            with session_scope() as session:
                session.execute(
                    update(RiskRun)
                    .where(RiskRun.id == run.id)
                    .values(
                        status="failed", finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"[:2000]
                    )
                )
            raise
    finally:
        leases.release(LEASE, holder)


def _score(run_id: int, as_of: date, holder: str, policy: PolicyData) -> RiskRun:
    """Score with the policy the run recorded (read once, so the version stored is the one applied)."""
    started = time.perf_counter()
    with session_scope() as session:
        ids = list(session.scalars(select(Household.id).order_by(Household.id)))
        counts = {"high": 0, "medium": 0, "low": 0}
        for offset in range(0, len(ids), CHUNK):
            frame = features.build(session, policy, as_of, ids[offset : offset + CHUNK])
            rows = []
            for hid, reasons in zip(frame.household_ids, rules.evaluate(frame.columns, policy), strict=True):
                level = rules.level_of(reasons) or "low"
                counts[level] += 1
                rows.append(
                    {
                        "run_id": run_id,
                        "household_id": hid,
                        "level": level,
                        "score": None,
                        "reasons": [asdict(r) for r in reasons],
                        "reason_codes": "|" + "".join(f"{r.code}|" for r in reasons),
                    }
                )
            bulk.insert_rows(session, RESULT_TABLE, rows)
            if session.connection().dialect.name != "sqlite":
                # (on SQLite this transaction's write lock already keeps every other run out)
                if not leases.renew(LEASE, holder, LEASE_TTL):
                    raise LeaseLost("the scoring lease expired and was taken by another run")
            logger.info(
                "scoring progress", extra={"run_id": run_id, "done": offset + len(rows), "of": len(ids)}
            )
        run = session.get(RiskRun, run_id)
        assert run is not None
        run.status, run.finished_at = "completed", utcnow()
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.households_scored = len(ids)
        run.flagged_high, run.flagged_medium = counts["high"], counts["medium"]
    return run
