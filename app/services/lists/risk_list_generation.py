"""Freezing a week's risk list and comparing it with the week before.

A list holds every household at high or medium risk in the current scoring run, with an open case, or
monitored, as it stood when the list was made. Entries are written once (one transaction, COPY on
PostgreSQL) and never changed: later data never changes a past week. Regenerating a week needs `force`;
the old list is kept, marked superseded, and the regeneration is audited. What an entry is made of is in
risk_list_entries.py.
"""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import bulk
from app.clock import local_date, local_today
from app.config import Settings
from app.errors import Conflict, Invalid
from app.models import Case, Household, RiskList, RiskListEntry, RiskResult
from app.models.base import utcnow
from app.models.enums import MonitoringStatus
from app.pii import PiiCipher, cipher_for
from app.services.lists.risk_list_entries import (
    COLUMNS,
    LEVEL_RANK,
    Previous,
    change_from,
    entry_row,
    household_rows,
    masked_id,
    measures_in_place,
)
from app.services.lists.risk_lists import GENERATORS, week_start
from app.services.platform import access, audit
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry.risk_results import current_run_id

CHUNK = 5000
LOCK_KEY = 0x5257_4C49  # "RWLI": the advisory lock of risk list generation


class Busy(Conflict):
    pass


def generate(session: Session, settings: Settings, actor: Actor, week: str, force: bool = False) -> RiskList:
    """Freeze `week`'s list now. A week not begun yet is refused, and so is one before a week that has a
    list (it would be made of today's data); an existing week needs `force`."""
    access.require_role(actor, GENERATORS, "generating risk lists")
    if week_start(week) > local_today():
        raise Invalid(f"{week} has not begun", field="week")
    _lock(session)
    return _generate(session, settings, actor, week, force)


def _lock(session: Session) -> None:
    """One generation at a time, held until the transaction ends (so a crash frees it too). PostgreSQL:
    a transaction-level advisory lock; SQLite serialises writers anyway (BEGIN IMMEDIATE)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    if not connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar():
        raise Busy("a risk list is being generated; try again when it is done", field="week")


def _generate(session: Session, settings: Settings, actor: Actor, week: str, force: bool) -> RiskList:
    later = session.scalar(
        select(RiskList.week).where(RiskList.status == "current", RiskList.week > week).limit(1)
    )
    if later is not None:  # today's data would pass for that week's, and the later week's changes break
        raise Conflict(f"{later} already has a list: {week} can no longer be made", field="week")
    existing = session.scalars(
        select(RiskList).where(RiskList.week == week, RiskList.status == "current").with_for_update()
    ).first()
    if existing is not None and not force:
        raise Conflict(f"the list for {week} exists; regenerate with force=true", field="force")
    now = utcnow()
    if existing is not None:
        existing.status, existing.superseded_at, existing.superseded_by = "superseded", now, actor.username
        session.flush()
    version, _ = policy_service.current_data(session)
    previous = session.scalars(
        select(RiskList)
        .where(RiskList.status == "current", RiskList.week < week)
        .order_by(RiskList.week.desc())
        .limit(1)
    ).first()
    risk_list = RiskList(
        week=week,
        status="current",
        generated_at=now,
        generated_by=actor.username,
        run_id=session.scalar(select(current_run_id())),
        policy_version=version,
        previous_id=previous.id if previous else None,
    )
    session.add(risk_list)
    try:
        session.flush()
    except IntegrityError as exc:  # another process froze the week meanwhile
        raise Conflict(f"the list for {week} was just generated", field="week") from exc
    before = _previous_levels(session, previous)
    table = RiskListEntry.__table__
    on_list = 0
    cipher = cipher_for(settings)
    for chunk in _chunks(_entries(session, risk_list, before, (local_date(now), now, cipher))):
        bulk.copy_tuples(session, table, COLUMNS, chunk)  # type: ignore[arg-type]
        on_list += len(chunk)
    resolved = _resolved(session, risk_list, previous, before, cipher)
    bulk.copy_tuples(session, table, COLUMNS, resolved)  # type: ignore[arg-type]
    # the exports and next week's list read these rows
    bulk.refresh_statistics(session, [RiskListEntry.__tablename__])
    risk_list.entries, risk_list.resolved = on_list, len(resolved)
    risk_list.decision_days = _decision_days(session, now)
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "risk_list.generate",
                "risk_list",
                risk_list.id,
                None,
                {
                    "week": week,
                    "entries": on_list,
                    "resolved": len(resolved),
                    "run_id": risk_list.run_id,
                    "force": force,
                    "superseded": existing.id if existing else None,
                },
            )
        ],
    )
    return risk_list


def _previous_levels(session: Session, previous: RiskList | None) -> dict[int, Previous]:
    if previous is None:
        return {}
    rows = session.execute(
        select(RiskListEntry.household_id, RiskListEntry.level, RiskListEntry.household_no).where(
            RiskListEntry.list_id == previous.id, RiskListEntry.change != "resolved"
        )
    )
    return {hid: Previous(level, no) for hid, level, no in rows}


def _entries(
    session: Session,
    risk_list: RiskList,
    before: dict[int, Previous],
    moment: tuple[date, datetime, PiiCipher],
) -> Iterator[tuple[Any, ...]]:
    run_id = risk_list.run_id
    flagged = select(RiskResult.household_id).where(
        RiskResult.run_id == (run_id or -1), RiskResult.level.in_(("high", "medium"))
    )
    with_case = select(Case.household_id).where(Case.status == "open")
    monitored = select(Household.id).where(Household.monitoring_status == MonitoringStatus.monitored)
    candidates = union(flagged, with_case, monitored).subquery()
    measures = measures_in_place(session, select(candidates.c[0]))
    stmt = household_rows(run_id, select(candidates.c[0]))
    for row in session.execute(stmt.execution_options(yield_per=CHUNK)):
        previous = before.get(row[0])
        yield entry_row(risk_list.id, row, measures.get(row[0], []), moment, change_from(previous, row[13]))


def _resolved(
    session: Session,
    risk_list: RiskList,
    previous: RiskList | None,
    before: dict[int, Previous],
    cipher: PiiCipher,
) -> list[tuple[Any, ...]]:
    """Last week's entries that left the list, each with why."""
    if previous is None:
        return []
    listed = select(RiskListEntry.household_id).where(RiskListEntry.list_id == risk_list.id)
    left = select(RiskListEntry.household_id).where(
        RiskListEntry.list_id == previous.id,
        RiskListEntry.change != "resolved",
        RiskListEntry.household_id.not_in(listed),
    )
    closed = _last_closed_cases(session, left, previous.generated_at)
    moment = (local_date(risk_list.generated_at), risk_list.generated_at, cipher)
    rows = []
    for row in session.execute(household_rows(risk_list.run_id, left)):
        hid, status = row[0], row[11]
        if status == MonitoringStatus.risk_eliminated:
            why = "risk_eliminated"
        elif closed.get(hid) == "rejected":
            why = "case_rejected"
        elif closed.get(hid) == "withdrawn":
            why = "case_withdrawn"
        elif LEVEL_RANK.get(row[13] or "", 0) == 0:
            why = "score_fell"
        else:
            why = "other"
        previous_level = before[hid].level if hid in before else None
        rows.append(entry_row(risk_list.id, row, [], moment, ("resolved", previous_level), why))
    # a household removed from the registry since: kept as resolved with what last week's list knew
    found = {row[1] for row in rows}
    for hid in before.keys() - found - set(session.scalars(listed)):
        rows.append(_gone(session, risk_list.id, previous.id, hid, cipher))
    return rows


def _gone(
    session: Session, list_id: int, previous_id: int, household_id: int, cipher: PiiCipher
) -> tuple[Any, ...]:
    entry = session.get(RiskListEntry, (previous_id, household_id))
    assert entry is not None
    values = {c: getattr(entry, c) for c in COLUMNS}
    values |= {
        "list_id": list_id,
        "change": "resolved",
        "previous_level": entry.level,
        "resolved_reason": "other",
        "case_id": None,
        "case_step": None,
        "case_days_open": None,
        "overdue": False,
        "head_id_masked": entry.head_id_masked or masked_id(cipher, entry.head_id_encrypted),
    }
    return tuple(values[c] for c in COLUMNS)


def _last_closed_cases(session: Session, household_ids: Any, since: datetime) -> dict[int, str]:
    rows = session.execute(
        select(Case.household_id, Case.outcome)
        .where(Case.household_id.in_(household_ids), Case.closed_at >= since)
        .order_by(Case.household_id, Case.closed_at)
    )
    return {hid: str(outcome) for hid, outcome in rows}  # the last one wins


def _decision_days(session: Session, now: datetime) -> dict[str, list[int]]:
    """Days from opening to decision of the cases decided (confirmed or rejected) in the week before, by
    village (so a summary counts only the caller's region)."""
    days: dict[str, list[int]] = {}
    rows = session.execute(
        select(Case.village_code, Case.opened_at, Case.closed_at)
        .where(
            Case.outcome.in_(("confirmed", "rejected")),
            Case.closed_at >= now - timedelta(days=7),
            Case.closed_at <= now,
        )
        .order_by(Case.village_code, Case.closed_at)
    )
    for village, opened, closed in rows:
        days.setdefault(village, []).append((local_date(closed) - local_date(opened)).days)
    return days


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
