"""Weekly risk lists: freezing a week's list, comparing it with the week before, and finding lists.

A list holds every household at high or medium risk in the current scoring run, with an open case, or
monitored, as it stood when the list was made. Entries are written once (one transaction, COPY on
PostgreSQL) and never changed: later data never changes a past week. Regenerating a week needs `force`;
the old list is kept, marked superseded, and the regeneration is audited.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, text, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app import bulk
from app.clock import local_date, local_today
from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.models import (
    Assistance,
    Case,
    Household,
    Member,
    Region,
    RiskList,
    RiskListEntry,
    RiskResult,
)
from app.models.base import utcnow
from app.models.enums import MonitoringStatus, RegionLevel, Relation, Role
from app.services.cases.assistance import ANSWERS
from app.services.platform import access, audit
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry.risk_results import current_run_id

WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")  # ASCII digits only: one spelling per week
READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
GENERATORS = frozenset({Role.admin})
LEVEL_RANK = {"high": 2, "medium": 1}
REASON_LABELS = {
    "income_below_line": "收入低于监测线",
    "sharp_income_drop": "收入骤减",
    "rigid_spending": "刚性支出过大",
    "medical_spending": "医疗自付负担重",
    "education_spending": "教育自付负担重",
    "housing_unsafe": "住房不安全",
    "compulsory_dropout": "义务教育辍学",
    "no_medical_insurance": "未参加基本医疗保险",
    "water_unsafe": "饮水不安全",
    "food_clothing": "吃穿未保障",
    "lack_of_labour": "缺劳动力",
    "sudden_event": "突发事件损失",
    "model_warning": "预警模型",
}
CHUNK = 5000
LOCK_KEY = 0x5257_4C49  # "RWLI": the advisory lock of risk list generation


def codes(value: str | None) -> list[str]:
    """The codes of a "|a|b|" column ("|" or "" when there are none)."""
    return [code for code in (value or "").split("|") if code]


def parse_week(value: str) -> tuple[int, int]:
    """(ISO year, week) of "2026-W48"; 422 naming `week` when it is not an ISO week."""
    match = WEEK.match(value)
    if match:
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
            return year, week
        except ValueError:
            pass
    raise Invalid(f"{value!r} is not an ISO week like 2026-W48", field="week")


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    return date.fromisocalendar(*parse_week(week), 1)


def find(session: Session, week: str) -> RiskList:
    """The current list of `week` ("latest": the newest week that has one); 404 when there is none."""
    stmt = select(RiskList).where(RiskList.status == "current")
    if week == "latest":
        stmt = stmt.order_by(RiskList.week.desc()).limit(1)
    else:
        parse_week(week)
        stmt = stmt.where(RiskList.week == week)
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound(f"no risk list for {week}", field="week")
    return found


def listing(session: Session, actor: Actor) -> list[tuple[RiskList, int, int]]:
    """Every list with its counts (on the list, resolved) in the actor's region; newest week first,
    superseded ones after the week's current one."""
    access.require_role(actor, READERS | GENERATORS, "reading risk lists")
    found = list(
        session.scalars(select(RiskList).order_by(RiskList.week.desc(), RiskList.status, RiskList.id.desc()))
    )
    return [(risk_list, *counts(session, actor, risk_list)) for risk_list in found]


def counts(session: Session, actor: Actor, risk_list: RiskList) -> tuple[int, int]:
    """(on the list, resolved) in the actor's region: a county-wide count is the county's business."""
    if actor.region_level == RegionLevel.county:
        return risk_list.entries, risk_list.resolved
    resolved = RiskListEntry.change == "resolved"
    row = session.execute(
        select(
            func.count().filter(~resolved),
            func.count().filter(resolved),
        ).where(
            RiskListEntry.list_id == risk_list.id,
            RiskListEntry.village_code.in_(access.visible_village_codes(actor)),
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Filters:
    township: str | None = None
    village: str | None = None
    level: str | None = None
    reason: str | None = None
    change: str | None = None
    overdue: bool | None = None


def entries(list_id: int, actor: Actor, filters: Filters, *columns: Any) -> Select[Any]:
    """`columns` of the list's entries in the actor's region that pass the filters, by township,
    village and household number."""
    stmt = select(*columns).where(
        RiskListEntry.list_id == list_id,
        RiskListEntry.village_code.in_(access.visible_village_codes(actor)),
    )
    if filters.township is not None:
        stmt = stmt.where(RiskListEntry.township_code == filters.township)
    if filters.village is not None:
        stmt = stmt.where(RiskListEntry.village_code == filters.village)
    if filters.level is not None:
        stmt = stmt.where(RiskListEntry.level == filters.level)
    if filters.reason is not None:
        stmt = stmt.where(RiskListEntry.reason_codes.contains(f"|{filters.reason}|", autoescape=True))
    if filters.change is not None:
        stmt = stmt.where(RiskListEntry.change == filters.change)
    if filters.overdue is not None:
        stmt = stmt.where(RiskListEntry.overdue.is_(filters.overdue))
    return stmt.order_by(
        RiskListEntry.township_code,
        RiskListEntry.village_code,
        RiskListEntry.household_no,
        RiskListEntry.household_id,
    )


def readable(session: Session, actor: Actor, week: str) -> RiskList:
    """The week's current list, for a reader (admins read no household data)."""
    access.require_role(actor, READERS, "reading risk lists")
    return find(session, week)


def county_reader(session: Session) -> Actor:
    """The command line reads for the whole county, as the district office does."""
    county = session.scalars(select(Region).where(Region.level == RegionLevel.county)).first()
    if county is None:
        raise NotFound("no county region: import the regions first", field="region")
    return Actor(None, "system:cli", Role.district_officer, county.code, RegionLevel.county)


def township_code(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9]{12}", value):
        raise Invalid(f"{value!r} is not a 12-digit township code", field="township")
    return value


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
    for chunk in _chunks(_entries(session, risk_list, before, now)):
        bulk.copy_tuples(session, table, COLUMNS, chunk)  # type: ignore[arg-type]
        on_list += len(chunk)
    resolved = _resolved(session, risk_list, previous, before)
    bulk.copy_tuples(session, table, COLUMNS, resolved)  # type: ignore[arg-type]
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


COLUMNS = (
    "list_id",
    "household_id",
    "household_no",
    "township_code",
    "township_name",
    "village_code",
    "village_name",
    "address",
    "head_name",
    "head_id_encrypted",
    "household_type",
    "monitoring_category",
    "monitoring_status",
    "level",
    "score",
    "reasons",
    "reason_codes",
    "risk_types",
    "case_id",
    "case_step",
    "case_days_open",
    "overdue",
    "measures",
    "risk_types_without_measure",
    "risk_types_confirmed",
    "change",
    "previous_level",
    "resolved_reason",
)


@dataclass(frozen=True)
class Previous:
    level: str | None
    household_no: str


def _previous_levels(session: Session, previous: RiskList | None) -> dict[int, Previous]:
    if previous is None:
        return {}
    rows = session.execute(
        select(RiskListEntry.household_id, RiskListEntry.level, RiskListEntry.household_no).where(
            RiskListEntry.list_id == previous.id, RiskListEntry.change != "resolved"
        )
    )
    return {hid: Previous(level, no) for hid, level, no in rows}


def _household_rows(run_id: int | None, household_ids: Any) -> Any:
    """The columns an entry is made of, for `household_ids` (a subquery), ordered by household."""
    village, township = aliased(Region), aliased(Region)
    head = aliased(Member)
    result = aliased(RiskResult)
    case = aliased(Case)
    return (
        select(
            Household.id,
            Household.household_no,
            township.code,
            township.name,
            village.code,
            village.name,
            Household.address,
            head.name,
            head.id_number_encrypted,
            Household.household_type,
            Household.monitoring_category,
            Household.monitoring_status,
            Household.risk_types,
            result.level,
            result.score,
            result.reasons,
            result.reason_codes,
            case.id,
            case.step,
            case.opened_at,
            case.due_at,
        )
        .join(village, village.code == Household.village_code)
        .join(township, township.code == village.parent_code)
        .outerjoin(
            head,
            and_(head.household_id == Household.id, head.relation == Relation.head, head.left_on.is_(None)),
        )
        .outerjoin(result, and_(result.household_id == Household.id, result.run_id == (run_id or -1)))
        .outerjoin(case, and_(case.household_id == Household.id, case.status == "open"))
        .where(Household.id.in_(household_ids))
        .order_by(Household.id)
    )


def _entries(
    session: Session, risk_list: RiskList, before: dict[int, Previous], now: datetime
) -> Iterator[tuple[Any, ...]]:
    run_id = risk_list.run_id
    flagged = select(RiskResult.household_id).where(
        RiskResult.run_id == (run_id or -1), RiskResult.level.in_(("high", "medium"))
    )
    with_case = select(Case.household_id).where(Case.status == "open")
    monitored = select(Household.id).where(Household.monitoring_status == MonitoringStatus.monitored)
    candidates = union(flagged, with_case, monitored).subquery()
    measures = _measures(session, select(candidates.c[0]))
    today = local_date(now)
    stmt = _household_rows(run_id, select(candidates.c[0]))
    for row in session.execute(stmt.execution_options(yield_per=CHUNK)):
        previous = before.get(row[0])
        yield _entry(risk_list.id, row, measures.get(row[0], []), today, now, _change(previous, row[13]))


def _entry(
    list_id: int,
    row: Any,
    measures: list[tuple[str, str, str]],
    today: date,
    now: datetime,
    change: tuple[str, str | None],
    resolved_reason: str | None = None,
) -> tuple[Any, ...]:
    (hid, no, t_code, t_name, v_code, v_name, address, head_name, head_id, htype, category, status) = row[:12]
    confirmed, level, score, reasons, reason_codes = row[12:17]
    case_id, step, opened_at, due_at = row[17:21]
    reasons = reasons or []
    confirmed = list(confirmed or []) if status == MonitoringStatus.monitored else []
    risk_types = sorted({*confirmed, *(r.get("risk_type") for r in reasons if r.get("risk_type"))})
    answered = {category for category, _, _ in measures}
    unmet = sum(1 for t in confirmed if not (ANSWERS.get(t, frozenset()) & answered))
    return (
        list_id,
        hid,
        no,
        t_code,
        t_name,
        v_code,
        v_name,
        address,
        head_name,
        head_id,
        _value(htype),
        _value(category),
        _value(status),
        level,
        score,
        "；".join(str(r.get("text", r.get("code", ""))) for r in reasons),
        reason_codes or "",
        "|" + "|".join(risk_types) + "|" if risk_types else "",
        case_id,
        step,
        (today - local_date(opened_at)).days if opened_at else None,
        bool(due_at is not None and due_at < now),
        "；".join(f"{category}：{item}（{_MEASURE_STATUS.get(s, s)}）" for category, item, s in measures),
        unmet,
        len(confirmed),
        change[0],
        change[1],
        resolved_reason,
    )


_MEASURE_STATUS = {"planned": "计划", "in_progress": "实施中", "done": "已完成"}


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _change(previous: Previous | None, level: str | None) -> tuple[str, str | None]:
    if previous is None:
        return "new", None
    now, then = LEVEL_RANK.get(level or "", 0), LEVEL_RANK.get(previous.level or "", 0)
    kind = "level_up" if now > then else "level_down" if now < then else "continuing"
    return kind, previous.level


def _measures(session: Session, household_ids: Any) -> dict[int, list[tuple[str, str, str]]]:
    """The measures in place (not stopped) of the listed households."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    rows = session.execute(
        select(Assistance.household_id, Assistance.category, Assistance.item, Assistance.status)
        .where(Assistance.household_id.in_(household_ids), Assistance.status != "stopped")
        .order_by(Assistance.household_id, Assistance.id)
    )
    for hid, category, item, status in rows:
        found.setdefault(hid, []).append((category, item, status))
    return found


def _resolved(
    session: Session, risk_list: RiskList, previous: RiskList | None, before: dict[int, Previous]
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
    today, now = local_date(risk_list.generated_at), risk_list.generated_at
    rows = []
    for row in session.execute(_household_rows(risk_list.run_id, left)):
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
        rows.append(_entry(risk_list.id, row, [], today, now, ("resolved", previous_level), why))
    # a household removed from the registry since: kept as resolved with what last week's list knew
    found = {row[1] for row in rows}
    for hid in before.keys() - found - set(session.scalars(listed)):
        rows.append(_gone(session, risk_list.id, previous.id, hid))
    return rows


def _gone(session: Session, list_id: int, previous_id: int, household_id: int) -> tuple[Any, ...]:
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
