"""The village's list of households to visit (the stale queue): a household nobody has reported on or
visited within the policy's months is not a safe household (DOMAIN.md, field work). The one stale rule:
the household list's flag and screening coverage (coverage.py) read it from here. Read live, not from the
last scoring run, so a report sent or a visit recorded this morning takes the household off the list at
once."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, case, false, func, select
from sqlalchemy.orm import Session, aliased

from app.clock import add_months, local_today
from app.models import Household, Report, Visit
from app.models.enums import Role
from app.schemas.common import PageParams
from app.services.platform import access
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

VISIT_READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


@dataclass(frozen=True, slots=True)
class DueVisit:
    household_id: int
    household_no: str
    village_code: str
    monitoring_status: str
    last_report_end: date | None  # None: never reported
    months_since_report: int | None
    last_visit_on: date | None  # None: never visited


def stale_cutoff(session: Session, today: date) -> tuple[int, date]:
    """The policy's months, and the day a household's last report must end on or after, or its last visit
    be on or after, not to be stale: the first day of the policy's months counted in calendar months, this
    one included (6 months on 2 December: from 1 July), the months screening coverage counts in."""
    _, policy = policy_service.current_data(session)
    months = policy.stale_report_months
    return months, cutoff_of(months, today)


def cutoff_of(months: int, today: date) -> date:
    """stale_cutoff's day for the policy's months."""
    return add_months(today.replace(day=1), -(months - 1))


def is_stale(last_end: date | None, last_visit: date | None, cutoff: date) -> bool:
    """Stale: neither an effective report ending nor a visit on or after the cutoff. A report keeps the
    household covered for the policy's months from the end of the period it describes, a visit from its
    day."""
    return not (
        (last_end is not None and last_end >= cutoff) or (last_visit is not None and last_visit >= cutoff)
    )


def stale_clause(last_end: ColumnElement[date | None], cutoff: date) -> ColumnElement[bool]:
    """is_stale in SQL, over a query of Household outer-joined to last_report_ends (`last_end`). The
    visits are looked up (by the index on visit.household_id) only for the households the reports leave
    stale: a CASE, so neither database asks every household's visits first."""
    recent_visit = select(Visit.id).where(Visit.household_id == Household.id, Visit.visited_on >= cutoff)
    return case((last_end >= cutoff, false()), else_=~recent_visit.exists())


def last_seen(last_end: ColumnElement[Any], last_visit: ColumnElement[Any]) -> ColumnElement[Any]:
    """The later of the two (NULL: neither), in SQL the same on SQLite and PostgreSQL."""
    return case(
        (last_visit.is_(None), last_end),
        (last_end.is_(None), last_visit),
        (last_end >= last_visit, last_end),
        else_=last_visit,
    )


# one alias for every call: SQLAlchemy prepares an alias's columns on first use, which costs milliseconds
_NEWER = aliased(Report)


def last_report_ends(household_ids: Collection[int] | None = None) -> Select[tuple[int, date]]:
    """Per household, the end of its last effective (not superseded) report (`last_end`)."""
    newer = _NEWER
    stmt = select(Report.household_id, func.max(Report.period_end).label("last_end")).where(
        ~select(newer.id).where(newer.supersedes_id == Report.id).exists()
    )
    if household_ids is not None:
        stmt = stmt.where(Report.household_id.in_(household_ids))
    return stmt.group_by(Report.household_id)


def last_report_end_of(household_id: Any) -> Select[tuple[date]]:
    """The end of one household's last effective report, as a statement (to correlate)."""
    superseded = select(_NEWER.id).where(_NEWER.supersedes_id == Report.id).exists()
    return select(func.max(Report.period_end)).where(Report.household_id == household_id, ~superseded)


def last_visits(household_ids: Collection[int] | None = None) -> Select[tuple[int, date]]:
    """Per household, the day of its last recorded visit (`last_visit`)."""
    stmt = select(Visit.household_id, func.max(Visit.visited_on).label("last_visit"))
    if household_ids is not None:
        stmt = stmt.where(Visit.household_id.in_(household_ids))
    return stmt.group_by(Visit.household_id)


def due(session: Session, actor: Actor, page: PageParams) -> tuple[list[DueVisit], int, int]:
    """Households in the actor's region with neither an effective report ending nor a visit within the
    policy's months, those never seen first, then the longest unseen; with the policy's months."""
    access.require_role(actor, VISIT_READERS, "reading the village's visit list")
    today = local_today()
    months, cutoff = stale_cutoff(session, today)
    latest = last_report_ends().subquery()
    stale = stale_clause(latest.c.last_end, cutoff)
    total = session.scalar(
        access.visible_households(
            select(func.count())
            .select_from(Household)
            .outerjoin(latest, latest.c.household_id == Household.id),
            actor,
        ).where(stale)
    )
    visited = last_visits().subquery()
    seen = last_seen(latest.c.last_end, visited.c.last_visit)
    rows = session.execute(
        access.visible_households(
            select(
                Household.id,
                Household.household_no,
                Household.village_code,
                Household.monitoring_status,
                latest.c.last_end,
                visited.c.last_visit,
            )
            .outerjoin(latest, latest.c.household_id == Household.id)
            .outerjoin(visited, visited.c.household_id == Household.id),
            actor,
        )
        .where(stale)
        .order_by(seen.is_not(None), seen, Household.id)
        .offset(page.offset)
        .limit(page.page_size)
    ).all()
    return (
        [
            DueVisit(
                hid,
                no,
                village,
                str(status),
                last_end,
                _months_between(last_end, today) if last_end is not None else None,
                last_visit,
            )
            for hid, no, village, status, last_end, last_visit in rows
        ],
        int(total or 0),
        months,
    )


def _months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - 1 if later.day < earlier.day else months
