"""Deadlines: a step past its due time is escalated once — village steps to the township's reviewers,
township review to the district's officers, and an overdue district decision (one given to an officer
who sat on it) to every district officer, who can act on it — never to the admins, who read no household
data. Each user's inbox lists the cases waiting on them, by due time.

The job is safe to run twice at once: a case is claimed by a conditional UPDATE (escalated_step moves
to the current step only if it is not there yet), so only one runner notifies.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app import bulk
from app.config import Settings
from app.errors import NotFound
from app.models import Base, Case, CaseEvent, Notification, User
from app.models.base import utcnow
from app.models.enums import Role
from app.schemas.common import PageParams
from app.services.cases import case_queries, procedure
from app.services.platform import access, audit, outbox, paging
from app.services.platform.access import Actor
from app.services.platform.outbox import CaseLike

logger = logging.getLogger(__name__)
NOTIFICATION_TABLE = Base.metadata.tables["notification"]


def escalate_overdue(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Escalate every open case whose step is past due and not yet escalated; returns how many."""
    now = now or utcnow()
    due = session.execute(
        select(Case.id, Case.step).where(
            Case.status == "open",
            Case.due_at < now,
            or_(Case.escalated_step.is_(None), Case.escalated_step != Case.step),
        )
    ).all()
    escalated = 0
    changes: list[audit.Change] = []
    owners: dict[Any, Any] = {}  # who is told, by role (read once)
    for case_id, step in due:
        claimed = session.execute(
            update(Case)
            .where(
                Case.id == case_id,
                Case.step == step,
                or_(Case.escalated_step.is_(None), Case.escalated_step != step),
            )
            .values(escalated_step=step)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another runner took it, or the case moved on
        case = session.get(Case, case_id)
        assert case is not None
        targets = _owners(session, procedure.escalates_to(step), case, owners)
        for user_id in targets:
            session.add(
                Notification(user_id=user_id, kind="escalated", case_id=case_id, step=step, created_at=now)
            )
        outbox.enqueue_case(session, case, "escalated")
        session.add(
            CaseEvent(
                case_id=case_id,
                at=now,
                actor="system:escalation",
                action="escalated",
                step=step,
                data={
                    "to": procedure.escalates_to(step).value,
                    "due_at": case.due_at.isoformat(),
                    "notified": len(targets),
                },
            )
        )
        changes.append(
            audit.Change(
                "case.escalate",
                "case",
                case_id,
                case.household_id,
                {"step": step, "to": procedure.escalates_to(step).value, "due_at": case.due_at.isoformat()},
            )
        )
        escalated += 1
    if changes:
        session.flush()
        audit.record(session, settings, Actor.system("escalation"), changes)
    return escalated


def notify_owners(session: Session, case: CaseLike, kind: str, by: Actor | None = None) -> None:
    """Tell the users who own the case's current step that it waits on them — except `by`, who just
    acted and sees the case in front of them."""
    notify_owners_of(session, [case], kind, by)


def notify_owners_of(session: Session, cases: Sequence[CaseLike], kind: str, by: Actor | None = None) -> None:
    """`notify_owners` for a batch of cases (a run opens thousands): the users of each owning role, and
    the webhooks, read once; the notifications and the webhook messages in one INSERT each."""
    cache: dict[Any, Any] = {}
    actor_id = by.user_id if by is not None else None
    rows: list[dict[str, Any]] = []
    for case in cases:
        assert case.id, "a case is told about once it is stored"
        rows.extend(
            {"user_id": user_id, "kind": kind, "case_id": case.id, "step": case.step}
            for user_id in _owners(session, procedure.owner(case.step), case, cache)
            if user_id != actor_id
        )
    bulk.insert_rows(session, NOTIFICATION_TABLE, rows)
    outbox.enqueue_cases(session, cases, kind, cache)


def notify_user(session: Session, case: CaseLike, user_id: int, kind: str, by: Actor | None = None) -> None:
    """Tell one user (a case reassigned to them) that it waits on them, unless they did it themselves."""
    if by is None or by.user_id != user_id:
        session.add(Notification(user_id=user_id, kind=kind, case_id=case.id, step=case.step))
        session.flush()
    outbox.enqueue_case(session, case, kind)


def _owners(session: Session, role: Role, case: CaseLike, cache: dict[Any, Any]) -> list[int]:
    """The active users of `role` over the case's village (cadres) or township (reviewers), or all of
    them (the district's roles). Every user of the role is read once per batch, not once per village."""
    key = ("users", role)
    if key not in cache:
        by_region: dict[str, list[int]] = defaultdict(list)
        found = session.execute(
            select(User.id, User.region_code)
            .where(User.role == role, User.active.is_(True))
            .order_by(User.id)
        )
        for user_id, region in found:
            by_region[region].append(user_id)
        cache[key] = (by_region, sorted(u for users in by_region.values() for u in users))
    by_region, everyone = cache[key]
    region = {Role.village_cadre: case.village_code, Role.township_reviewer: case.township_code}.get(role)
    return list(everyone) if region is None else list(by_region.get(region, ()))


def inbox(
    session: Session, actor: Actor, page: PageParams, filters: dict[str, Any]
) -> tuple[list[Case], int, int]:
    """Cases waiting on the actor: their role's steps in their region, escalations to them, and cases
    assigned to them; by due time."""
    # admins read no household data: their escalations come as notifications (case ids and steps)
    inbox_roles = {role for s in procedure.STEPS.values() for role in (s.owner, s.escalates_to)}
    access.require_role(actor, frozenset(inbox_roles), "reading an inbox")
    own_steps = procedure.steps_owned_by(actor.role)
    escalated_steps = procedure.steps_escalated_to(actor.role)
    # a case assigned to a colleague waits on that colleague, not on everyone who owns its step
    unassigned = or_(Case.assigned_user_id.is_(None), Case.assigned_user_id == actor.user_id)
    waiting = or_(
        Case.step.in_(own_steps) & unassigned,
        Case.step.in_(escalated_steps) & (Case.escalated_step == Case.step),
        Case.assigned_user_id == actor.user_id,
    )
    stmt = select(Case).where(Case.status == "open", waiting)
    if actor.role != Role.admin:
        stmt = stmt.where(Case.village_code.in_(access.visible_village_codes(actor)))
    return case_queries.page_of(session, case_queries.filtered(stmt, filters), page)


def notifications(
    session: Session, actor: Actor, page: PageParams, unread: bool | None = None
) -> tuple[list[Notification], int]:
    stmt = select(Notification).where(Notification.user_id == actor.user_id)
    if unread is not None:
        stmt = stmt.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    return paging.page_of(session, stmt, page, Notification.id.desc())


def mark_all_read(session: Session, actor: Actor) -> int:
    """Mark every unread notification of the caller's read; returns how many were unread."""
    marked = session.execute(
        update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(marked.rowcount)  # type: ignore[attr-defined]


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != actor.user_id:
        raise NotFound(f"notification {notification_id} not found", field="notification_id")
    if note.read_at is None:
        note.read_at = utcnow()
    return note
