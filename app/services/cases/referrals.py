"""交有关部门: a monitored household's need is handed to the department that owns the measure; the
department sees its referrals in a queue, accepts one, and answers with the outcome and its date; a
granted answer becomes the household's assistance measure. Suggestions come from rules on the
household's own data: income under the 低保 standard without 低保 → 民政; labour but no one in work
(零就业) → 人社."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.models import Assistance, Household, Referral
from app.models.base import utcnow
from app.models.enums import Employment, LabourCapacity, MonitoringStatus, Role
from app.risk import features
from app.schemas.common import PageParams
from app.schemas.referrals import ReferralAnswer, ReferralCreate, ReferralSuggestion
from app.services.cases import relief_news
from app.services.platform import access, audit, paging
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import households

REFERRERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
WORKING = frozenset({LabourCapacity.ordinary, LabourCapacity.skilled})
EMPLOYED = frozenset({Employment.local, Employment.migrant})


def refer(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: ReferralCreate
) -> Referral:
    household = households.load(session, actor, household_id, members=False)
    access.require_role(actor, REFERRERS, "referring a household to a department")
    if household.monitoring_status != MonitoringStatus.monitored:
        raise Conflict("a household is referred once its case is confirmed (monitored)", field="household_id")
    _, policy = policy_service.current_data(session)
    if policy.department(body.department) is None:
        names = ", ".join(d.name for d in policy.departments)
        raise Invalid(f"the department is one of: {names}", field="department")
    open_one = session.scalar(
        select(Referral.id).where(
            Referral.household_id == household.id,
            Referral.department == body.department,
            Referral.measure_category == body.measure_category,
            Referral.status.in_(("referred", "accepted")),
        )
    )
    if open_one is not None:
        raise Conflict(f"referral {open_one} for this measure awaits {body.department}", field="department")
    row = Referral(
        household_id=household.id,
        department=body.department,
        measure_category=body.measure_category,
        need=body.need,
        status="referred",
        referred_by=actor.username,
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        settings,
        actor,
        row,
        "refer",
        {"department": row.department, "measure": row.measure_category},
    )
    return row


def for_household(session: Session, actor: Actor, household_id: int) -> list[Referral]:
    households.load(session, actor, household_id, members=False)
    access.require_details(session, actor, household_id)
    stmt = select(Referral).where(Referral.household_id == household_id)
    if actor.role == Role.department_user:
        stmt = stmt.where(Referral.department == actor.department)
    return list(session.scalars(stmt.order_by(Referral.id)))


def queue(session: Session, actor: Actor, page: PageParams, status: str | None) -> tuple[list[Referral], int]:
    """A department's referrals (its own department's only); for the others, those in their region."""
    stmt = select(Referral)
    if actor.role == Role.department_user:
        stmt = stmt.where(Referral.department == actor.department)
    else:
        access.require_role(actor, REFERRERS, "reading referrals")
        stmt = stmt.join(Household, Household.id == Referral.household_id).where(
            Household.village_code.in_(access.visible_village_codes(actor))
        )
    if status is not None:
        stmt = stmt.where(Referral.status == status)
    return paging.page_of(session, stmt, page, Referral.id)


def _own(session: Session, actor: Actor, referral_id: int) -> Referral:
    """A referral to the actor's department, locked; 404 for any other (it is not theirs to see)."""
    row = session.get(Referral, referral_id, with_for_update=True)
    if row is None or actor.role != Role.department_user or row.department != actor.department:
        if row is not None and actor.role in REFERRERS:
            raise Forbidden("the department it was referred to answers it")
        raise NotFound(f"referral {referral_id} not found", field="referral_id")
    return row


def accept(session: Session, settings: Settings, actor: Actor, referral_id: int) -> Referral:
    row = _own(session, actor, referral_id)
    if row.status != "referred":
        raise Conflict(f"referral {referral_id} is already {row.status}", field="referral_id")
    row.status, row.accepted_by, row.accepted_at = "accepted", actor.username, utcnow()
    _audit(session, settings, actor, row, "accept", {})
    return row


def answer(
    session: Session, settings: Settings, actor: Actor, referral_id: int, body: ReferralAnswer
) -> Referral:
    """The department's outcome and its date; granted, it becomes the household's measure at once."""
    row = _own(session, actor, referral_id)
    if row.status != "accepted":
        raise Conflict(f"referral {referral_id} is {row.status}: accept it first", field="referral_id")
    household = session.get(Household, row.household_id)
    if body.outcome == "granted" and (
        household is None or household.monitoring_status != MonitoringStatus.monitored
    ):
        raise Conflict(
            "the household is no longer monitored: no measure is added (answer refused, or ask the village)",
            field="outcome",
        )
    row.status, row.answered_by, row.answered_at = body.outcome, actor.username, utcnow()
    row.answered_on, row.answer = body.answered_on, body.answer
    if body.outcome == "granted":
        measure = Assistance(
            household_id=row.household_id,
            category=row.measure_category,
            item=body.item or row.need[:200],
            department=row.department,
            started_on=body.answered_on,
            amount=body.amount,
            status="in_progress",
            created_by=actor.username,
        )
        session.add(measure)
        session.flush()
        row.assistance_id = measure.id
        relief_news.on_assistance(session, measure)
    session.flush()
    _audit(
        session,
        settings,
        actor,
        row,
        "answer",
        {
            "outcome": body.outcome,
            "answered_on": body.answered_on.isoformat(),
            "assistance_id": row.assistance_id,
        },
    )
    return row


def suggestions(session: Session, actor: Actor, household_id: int) -> list[ReferralSuggestion]:
    household = households.load(session, actor, household_id)
    access.require_role(actor, REFERRERS, "reading referral suggestions")
    _, policy = policy_service.current_data(session)
    today = local_today()
    active = [m for m in household.members if m.left_on is None or m.left_on > today]
    found: list[ReferralSuggestion] = []
    frame = features.build(session, policy, today, [household.id])
    income = frame.columns["income_pc"][0]
    standard = policy.dibao_for(today.year)
    on_safety_net = any(m.dibao or m.tekun for m in active)
    if income == income and Decimal(str(income)) < standard and not on_safety_net:  # NaN: no report
        found.append(
            ReferralSuggestion(
                department="民政",
                measure_category="综合保障",
                reason=f"人均纯收入 {income:,.0f} 元低于 {today.year} 年低保标准 {standard:,.0f} 元，"
                "未享受低保或特困",
                figure=Decimal(str(income)),
            )
        )
    able = [m for m in active if m.labour_capacity in WORKING]
    # 零就业 needs to be known: every able member recorded as not working (unknown is not "none")
    if (
        able
        and all(m.employment == Employment.none for m in able)
        and not any(m.employment in EMPLOYED for m in active)
    ):
        found.append(
            ReferralSuggestion(
                department="人社",
                measure_category="就业帮扶",
                reason=f"有 {len(able)} 名劳动力，无人务工（零就业家庭）",
            )
        )
    return found


def _audit(
    session: Session, settings: Settings, actor: Actor, row: Referral, step: str, values: dict[str, object]
) -> None:
    audit.record(
        session,
        settings,
        actor,
        [audit.Change(f"referral.{step}", "referral", row.id, row.household_id, values)],
    )
