"""The village's list of households to visit: a household nobody has reported on within the policy's
months is not a safe household (DOMAIN.md, field work). Read live, not from the last scoring run, so a
report sent this morning takes the household off the list at once."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from app.clock import add_months, local_today
from app.models import Household, Report
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


def stale_cutoff(session: Session, today: date) -> tuple[int, date]:
    """The policy's months, and the day a household's last report must end on or after not to be stale."""
    _, policy = policy_service.current_data(session)
    return policy.stale_report_months, add_months(today, -policy.stale_report_months)


def is_stale(last_end: date | None, cutoff: date) -> bool:
    """Stale: never reported, or the last effective report ended before the cutoff."""
    return last_end is None or last_end < cutoff


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


def due(session: Session, actor: Actor, page: PageParams) -> tuple[list[DueVisit], int, int]:
    """Households in the actor's region with no effective report ending within the policy's months,
    those never reported first, then the longest silent; with the policy's months."""
    access.require_role(actor, VISIT_READERS, "reading the village's visit list")
    today = local_today()
    months, cutoff = stale_cutoff(session, today)
    latest = last_report_ends().subquery()
    stmt = access.visible_households(
        select(Household.id, Household.household_no, Household.village_code, Household.monitoring_status)
        .add_columns(latest.c.last_end)
        .outerjoin(latest, latest.c.household_id == Household.id),
        actor,
    ).where((latest.c.last_end.is_(None)) | (latest.c.last_end < cutoff))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(latest.c.last_end.is_not(None), latest.c.last_end, Household.id)
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
            )
            for hid, no, village, status, last_end in rows
        ],
        int(total),
        months,
    )


def _months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - 1 if later.day < earlier.day else months
