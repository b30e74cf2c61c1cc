"""Taking an action on a case: the procedure's tables (procedure.py) say where an action may be taken, by
whom, and where it leads; this module adds the facts of the case (the notice has run, who started the case)
and carries the action out.

Refusals come in a fixed order: a case outside the caller's region is 404; an action not valid at the
case's step, or on a closed case, is 409; the wrong role for the step is 403; a bad body is 422 (the
route validates the body only after `check`). Every transition is on the timeline and audited.
"""

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_date, local_today
from app.config import Settings
from app.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.models import Case, CaseEvent, Household, Signal, User
from app.models.base import utcnow
from app.models.enums import MonitoringCategory, MonitoringStatus, Role
from app.risk import labels as verifier_labels
from app.schemas import case_actions as bodies
from app.schemas.policy import PolicyData
from app.services.cases import assistance, case_views, escalation, follow_ups, procedure, relief_news
from app.services.cases.procedure import VILLAGE_STEPS
from app.services.platform import audit, outbox
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import monitoring_rules, report_submission
from app.services.registry.report_checks import Item

NOTICE_LEAD_DAYS = 14  # a notice may be announced up to two weeks ahead
ACTIONS = procedure.ACTIONS


def check(session: Session, actor: Actor, case_id: int, action: Any) -> Case:
    """The case, locked, if `action` may be taken on it by `actor` now (body not yet validated)."""
    found = session.execute(select(Case.id, Case.household_id).where(Case.id == case_id)).first()
    visible = found is not None and session.scalar(
        case_views.visible(actor).with_only_columns(Case.id).where(Case.id == case_id)
    )
    if found is None or not visible:
        raise NotFound(f"case {case_id} not found", field="case_id")
    # the household first, then the case: the order signals take, so the two never deadlock
    session.get(Household, found.household_id, with_for_update=True)
    case = session.scalars(select(Case).where(Case.id == case_id).with_for_update()).one()
    if not isinstance(action, str) or action not in ACTIONS:
        raise Invalid(f"action must be one of: {', '.join(ACTIONS)}", field="action")
    refused = refusal(session, actor, case, action)
    if refused is not None:
        raise refused
    return case


def allowed(session: Session, actor: Actor, case: Case) -> list[str]:
    """The actions `actor` may take on `case` now, by the same rules `check` applies."""
    return [action for action in ACTIONS if refusal(session, actor, case, action) is None]


def refusal(session: Session, actor: Actor, case: Case, action: str) -> AppError | None:
    """Why `actor` may not take `action` on the (visible) case now: 409 for the case's state, 403 for the
    role; None when they may."""
    rule = ACTIONS[action]
    steps, roles = rule.steps, rule.roles
    if case.status != "open":
        return Conflict(f"case {case.id} is closed ({case.outcome})", field="action")
    if case.step not in steps:
        return Conflict(f"{action} is not possible at step {case.step}", field="action")
    if action == "approve" and (case.notice_ends_on is None or local_today() < case.notice_ends_on):
        return Conflict(
            f"the public notice runs until {case.notice_ends_on}: approval is possible from then",
            field="action",
        )
    if action == "close" and actor.role == Role.township_reviewer:
        return Forbidden("the township sends a case back to the village (return); the district decides")
    if actor.role not in roles:
        return Forbidden(f"role {actor.role.value} may not {action} at step {case.step}")
    overseers = (procedure.owner(case.step), procedure.escalates_to(case.step), Role.district_officer)
    if action == "reassign" and actor.role not in overseers:
        # the step's owners share out their own work; the level a late step escalates to (the township
        # over the village's steps) may hand it to someone who can do it; the district may anywhere
        return Forbidden(
            f"only the owners of step {case.step}, those it escalates to, or the district reassign it"
        )
    if action == "close" and actor.role == Role.village_cadre:
        return _withdrawal_refusal(session, case)
    return None


VILLAGE_STARTED = frozenset({"cadre_report"})  # a cadre's report or the village's elimination proposal


def _withdrawal_refusal(session: Session, case: Case) -> AppError | None:
    """A village withdraws only a case it started itself, and only before the township has acted on it;
    a household's own application is never withdrawn by the village."""
    if case.source == "self_application":
        return Forbidden("a household's own application is decided by the district, not withdrawn")
    if case.source not in VILLAGE_STARTED:
        return Forbidden(
            f"this case comes from {case.source}: the village verifies it, and its democratic review "
            "may disagree; only the district closes it"
        )
    # a signal that joined the case since (an application, a department's row, a flag) is not the
    # village's to withdraw either
    others = session.scalars(
        select(Signal.source).where(Signal.case_id == case.id, Signal.source.not_in(VILLAGE_STARTED))
    ).first()
    if others is not None:
        return Forbidden(
            f"a {others} signal joined this case: the village verifies it; only the district closes it"
        )
    township_acted = session.scalar(
        select(CaseEvent.id)
        .where(CaseEvent.case_id == case.id, CaseEvent.step.not_in(VILLAGE_STEPS))
        .limit(1)
    )
    if case.step not in VILLAGE_STEPS or township_acted is not None:
        return Forbidden("the township has acted on this case: only the district closes it now")
    return None


def apply(session: Session, settings: Settings, actor: Actor, case: Case, body: BaseModel) -> Case:
    _, policy = policy_service.current_data(session)
    household = session.get(Household, case.household_id, with_for_update=True)
    assert household is not None
    step_before = case.step
    data = body.model_dump(mode="json", exclude={"action", "report"})
    match body:
        case bodies.Verify():
            if body.visited_on < local_date(case.step_started_at):
                raise Invalid(
                    f"the visit is on or after {local_date(case.step_started_at)}, when verification began",
                    field="visited_on",
                )
            if body.report is not None:  # the corrected indicators: a new report, as a cadre files one
                item = Item(body=body.report, prefix="report.", household_id=household.id)
                stored, _ = report_submission.submit(session, settings, actor, [item])
                data["report"] = {"id": stored[0].id, "client_ref": body.report.client_ref}
            _advance(case, "verify", policy)
        case bodies.Review() if body.held_on < _visited_on(session, case):
            raise Invalid(
                f"the review is on or after the visit ({_visited_on(session, case)})", field="held_on"
            )
        case bodies.Review() if body.outcome == "disagreed":
            # the village's democratic review did not agree: the case ends here, refused
            _restore_status(case, household)
            _close(case, "rejected")
        case bodies.Review():
            _advance(case, "review", policy)
        case bodies.Notice():
            reviewed = local_date(case.step_started_at)
            if not reviewed <= body.starts_on <= local_today() + timedelta(days=NOTICE_LEAD_DAYS):
                raise Invalid(
                    f"the notice starts between the review ({reviewed}) and {NOTICE_LEAD_DAYS} days ahead",
                    field="starts_on",
                )
            ends = body.starts_on + timedelta(days=policy.case_deadlines.public_notice)
            data["ends_on"] = ends.isoformat()
            case.notice_ends_on = ends
            _advance(case, "notice", policy, starts=ends)
        case bodies.Approve():
            _advance(case, "approve", policy)
        case bodies.Return():
            case.notice_ends_on = None
            _advance(case, "return", policy)
        case bodies.Confirm() if case.kind == "elimination":
            assistance.check_elimination(session, household, policy)
            household.monitoring_status = MonitoringStatus.risk_eliminated
            household.risk_eliminated_on = local_today()
            _close(case, "confirm")
            follow_ups.schedule(session, case, policy, local_today())
        case bodies.Confirm():
            if body.monitoring_category is None:
                raise Invalid("required to confirm an identification", field="monitoring_category")
            if not body.risk_types:
                raise Invalid("required to confirm an identification (1 to 5)", field="risk_types")
            monitoring_rules.check_category(household, MonitoringCategory(body.monitoring_category))
            monitoring_rules.check_risk_types(session, household, body.risk_types)
            household.monitoring_status = MonitoringStatus.monitored
            household.monitoring_category = MonitoringCategory(body.monitoring_category)
            household.risk_types = list(body.risk_types)
            household.monitored_since = local_today()
            household.risk_eliminated_on = None  # monitored again: an earlier elimination no longer holds
            _close(case, "confirm")
        case bodies.Reject() | bodies.Close():
            _restore_status(case, household)
            _close(case, "reject" if isinstance(body, bodies.Reject) else "close")
        case bodies.Reassign():
            _check_assignee(session, case, body.user_id)
            case.assigned_user_id = body.user_id
            escalation.notify_user(session, case, body.user_id, "assigned", by=actor)
    action = str(body.model_dump(include={"action"})["action"])
    if action == "verify":
        household.provisional = False  # the visit completed the household (members, type)
    relief_news.on_case_action(session, case, action, data)
    if case.status == "open" and case.step != step_before:
        escalation.notify_owners(session, case, "returned" if action == "return" else "new_work", by=actor)
    elif case.status == "closed":
        outbox.enqueue_case(session, case, "closed")  # the region's webhooks hear the outcome
        verifier_labels.record(session, case)  # a confirmation or a rejection is a labelled example
    session.add(CaseEvent(case_id=case.id, actor=actor.username, action=action, step=step_before, data=data))
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                f"case.{action}",
                "case",
                case.id,
                case.household_id,
                {
                    "from": step_before,
                    "to": case.step,
                    "status": case.status,
                    "outcome": case.outcome,
                    **data,
                },
            )
        ],
    )
    return case


def _advance(case: Case, action: str, policy: PolicyData, starts: date | None = None) -> None:
    """Move to the step `action` leads to (procedure.ACTIONS). A step that shares the window before it (the
    village's three steps) keeps the deadline, the assignee and an escalation already made."""
    step = ACTIONS[action].next_step
    assert step is not None, f"{action} leads to no step"
    days = procedure.window_days(step, policy.case_deadlines)
    case.step, case.step_started_at = step, utcnow()
    if days is None:
        if case.escalated_step is not None:
            case.escalated_step = step
        return
    case.escalated_step = None  # a new window can be escalated again
    case.assigned_user_id = None  # the next level's owners take it
    case.due_at = due(step, policy, starts)


def due(step: str, policy: PolicyData, starts: date | None = None) -> datetime:
    """When a window opening now at `step` ends; township review opens when the notice has run."""
    days = procedure.window_days(step, policy.case_deadlines)
    assert days is not None, f"{step} opens no window of its own"
    waits = max(0, (starts - local_today()).days) if starts else 0
    return utcnow() + timedelta(days=days + waits)


def _restore_status(case: Case, household: Household) -> None:
    """An identification not confirmed returns the household to where it was (风险消除 stays 风险消除,
    with its history); a refused elimination leaves the household monitored."""
    if case.kind == "identification":
        household.monitoring_status = MonitoringStatus(case.prior_status or MonitoringStatus.not_monitored)


def _close(case: Case, action_or_outcome: str) -> None:
    """Close with the outcome the action has in the procedure (or an outcome given as such: a democratic
    review that disagrees closes the case "rejected")."""
    rule = ACTIONS.get(action_or_outcome)
    outcome = rule.outcome if rule is not None and rule.outcome is not None else action_or_outcome
    case.status, case.outcome, case.closed_at = "closed", outcome, utcnow()


def _visited_on(session: Session, case: Case) -> date:
    visit = session.scalars(
        select(CaseEvent.data)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "verify")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    return date.fromisoformat(visit["visited_on"]) if visit else local_date(case.opened_at)


def assignees(session: Session, case: Case) -> list[User]:
    """Who the case can be reassigned to: the active users of its current step's owners' role, in the
    case's region."""
    owner = procedure.owner(case.step)
    region = {
        Role.village_cadre: case.village_code,
        Role.township_reviewer: case.township_code,
    }.get(owner)
    stmt = select(User).where(User.role == owner, User.active.is_(True))
    if region is not None:
        stmt = stmt.where(User.region_code == region)
    return list(session.scalars(stmt.order_by(User.username)))


def _check_assignee(session: Session, case: Case, user_id: int) -> None:
    """Only to someone who can take the case's current step (see assignees)."""
    if any(user.id == user_id for user in assignees(session, case)):
        return
    user = session.get(User, user_id)
    if user is not None and user.active and user.role == procedure.owner(case.step):
        raise Invalid(f"user {user_id} works outside this case's region", field="user_id")
    raise Invalid(f"user {user_id} cannot take the step {case.step}", field="user_id")
