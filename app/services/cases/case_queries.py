"""Filtering and paging of case lists, shared by the case list and the inbox; a household's signals."""

import json
from typing import Any

from sqlalchemy import String, case, func, or_, select
from sqlalchemy.orm import Session

from app.models import Case, Signal
from app.models.base import utcnow
from app.models.enums import Role
from app.schemas.common import PageParams
from app.services.platform import access, paging
from app.services.platform.access import Actor
from app.services.registry import households

EQUAL = ("status", "step", "source", "township_code", "village_code")


def filtered(stmt: Any, filters: dict[str, Any]) -> Any:
    """`stmt` over Case narrowed by the given filters (None: not filtered)."""
    for name in EQUAL:
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Case, name) == filters[name])
    if filters.get("overdue") is not None:
        late = (Case.status == "open") & (Case.due_at < utcnow())
        stmt = stmt.where(late if filters["overdue"] else ~late)
    if filters.get("risk_type") is not None:
        # the case's reasons name their risk type; the JSON text is searched, on any database
        text = func.cast(Case.reasons, String)
        escaped = json.dumps(filters["risk_type"])[1:-1]  # how the JSON column spells it, \u-escaped
        stmt = stmt.where(
            or_(text.contains(filters["risk_type"], autoescape=True), text.contains(escaped, autoescape=True))
        )
    return stmt


def page_of(session: Session, stmt: Any, page: PageParams) -> tuple[list[Case], int, int]:
    """One page by due time, the total, and how many of all are overdue."""
    rows = stmt.subquery()
    late = (rows.c.status == "open") & (rows.c.due_at < utcnow())
    total, overdue = session.execute(
        select(func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0)).select_from(rows)
    ).one()
    cases = session.scalars(stmt.order_by(Case.due_at, Case.id).offset(page.offset).limit(page.page_size))
    return list(cases), int(total), int(overdue)


def signals_of(
    session: Session, actor: Actor, household_id: int, page: PageParams, outcome: str | None = None
) -> tuple[list[Signal], int]:
    """The household's signals, newest first: its monitoring record once it is monitored (signals then
    open no case and are kept here), and every flag, report and department row before."""
    households.load(session, actor, household_id, members=False)  # 404 outside the actor's region
    access.require_details(session, actor, household_id)
    stmt = select(Signal).where(Signal.household_id == household_id)
    if actor.role == Role.department_user:  # its own rows, not the scorer's or other departments'
        stmt = stmt.where(Signal.department == actor.department)
    if outcome is not None:
        stmt = stmt.where(Signal.outcome == outcome)
    return paging.page_of(session, stmt, page, Signal.received_at.desc(), Signal.id.desc())
