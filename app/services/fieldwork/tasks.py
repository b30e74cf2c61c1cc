"""Households to visit: a campaign's tasks and the follow-ups after an elimination (回头看).

A recorded visit completes the household's open tasks it counts for: a campaign's (the campaign open, the
visit within its period) and a follow-up's (the visit on or after the day it opens). A follow-up not done
by its day is overdue, like a case step."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.clock import local_today
from app.models import Campaign, FieldTask, Household, Visit
from app.models.enums import Role
from app.schemas.common import PageParams
from app.services.platform import access
from app.services.platform.access import Actor

READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


def complete_for(session: Session, visit: Visit) -> int:
    """Mark the household's open tasks this visit counts for as done by it; how many."""
    open_campaigns = select(Campaign.id).where(Campaign.status == "open")
    result = session.execute(
        update(FieldTask)
        .where(
            FieldTask.household_id == visit.household_id,
            FieldTask.done_on.is_(None),
            FieldTask.opens_on <= visit.visited_on,
            or_(
                FieldTask.kind == "follow_up",
                and_(FieldTask.due_on >= visit.visited_on, FieldTask.campaign_id.in_(open_campaigns)),
            ),
        )
        .values(done_on=visit.visited_on, visit_id=visit.id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: int
    kind: str
    household_id: int
    household_no: str
    village_code: str
    campaign_id: int | None
    case_id: int | None
    months: int | None
    opens_on: date
    due_on: date
    done_on: date | None
    visit_id: int | None
    overdue: bool


def listing(
    session: Session,
    actor: Actor,
    page: PageParams,
    *,
    kind: str | None,
    state: str | None,
    campaign_id: int | None,
) -> tuple[list[TaskRow], int]:
    """Tasks of households in the actor's region: the open ones first, by their day."""
    access.require_role(actor, READERS, "reading field tasks")
    today = local_today()
    stmt = _visible(actor)
    if kind is not None:
        stmt = stmt.where(FieldTask.kind == kind)
    if campaign_id is not None:
        stmt = stmt.where(FieldTask.campaign_id == campaign_id)
    if state == "open":
        stmt = stmt.where(FieldTask.done_on.is_(None))
    elif state == "overdue":
        stmt = stmt.where(
            FieldTask.done_on.is_(None), FieldTask.kind == "follow_up", FieldTask.due_on < today
        )
    elif state == "done":
        stmt = stmt.where(FieldTask.done_on.is_not(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(FieldTask.done_on.is_not(None), FieldTask.due_on, FieldTask.id)
        .offset(page.offset)
        .limit(page.page_size)
    ).tuples()
    return [
        TaskRow(
            t.id,
            t.kind,
            t.household_id,
            no,
            t.village_code,
            t.campaign_id,
            t.case_id,
            t.months,
            t.opens_on,
            t.due_on,
            t.done_on,
            t.visit_id,
            t.kind == "follow_up" and t.done_on is None and t.due_on < today,
        )
        for t, no in rows
    ], int(total)


def overdue_follow_ups(session: Session, villages: Select[tuple[str]], today: date) -> int:
    """Follow-ups past their day with no visit, in these villages."""
    return int(
        session.scalar(
            select(func.count()).where(
                FieldTask.kind == "follow_up",
                FieldTask.done_on.is_(None),
                FieldTask.due_on < today,
                FieldTask.village_code.in_(villages),
            )
        )
        or 0
    )


def _visible(actor: Actor) -> Select[tuple[FieldTask, str]]:
    return (
        select(FieldTask, Household.household_no)
        .join(Household, Household.id == FieldTask.household_id)
        .where(FieldTask.village_code.in_(access.visible_village_codes(actor)))
    )
