"""The demo village's cases at every step of the procedure, staged by the demo accounts through the case
procedure's own code at the days they would have happened."""

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.demo.regions import DEMO_VILLAGE
from app.models import Household, Member, Report, User
from app.models.base import utcnow
from app.models.enums import (
    CANNOT_WORK,
    ROLE_REGION_LEVEL,
    HouseholdType,
    MonitoringCategory,
    MonitoringStatus,
    Role,
)
from app.schemas.case_actions import ACTIONS
from app.services.platform.access import Actor

# The demo village's cases at every step of the procedure: cadre reports played through the real case
# code at the days they would have happened (clock.replaying), so every date, deadline, notice period
# and overdue mark is the rules' own. Each script: how many cases, then (action, days ago) in order.
CASE_SCRIPTS: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = (
    (2, (("report", 2),)),  # 入户核实, due in 8 days
    (2, (("report", 13),)),  # 入户核实, overdue: escalated to the township
    (2, (("report", 6), ("verify", 4))),  # 民主评议
    (2, (("report", 7), ("verify", 5), ("review", 3))),  # 公示 to announce
    (2, (("report", 8), ("verify", 6), ("review", 4), ("notice", 2))),  # 乡镇审核, the notice still runs
    (3, (("report", 12), ("verify", 10), ("review", 9), ("notice", 7))),  # 乡镇审核, notice over
    (2, (("report", 16), ("verify", 14), ("review", 13), ("notice", 12))),  # 乡镇审核, overdue
    (2, (("report", 12), ("verify", 11), ("review", 10), ("notice", 9), ("approve", 1))),  # 县级审定
    (1, (("report", 15), ("verify", 13), ("review", 12), ("notice", 11), ("approve", 4))),  # overdue
    (1, (("report", 30), ("verify", 28), ("review", 27), ("notice", 26), ("approve", 20), ("confirm", 19))),
)
DIFFICULTIES = (
    ("户主外出务工受伤，近三个月没有收入", "因意外事故"),
    ("家中老人患大病住院，自付医疗费用较多", "因病"),
    ("务工返乡后一直未再就业，家庭收入明显下降", "因务工就业不稳"),
    ("烤烟遭冰雹，今年收成大减", "因自然灾害"),
    ("两个子女同时上学，教育支出增加", "因学"),
    ("生猪养殖亏损，欠下饲料款", "因产业项目失败"),
)
VISITORS = (("李文华", "普建平"), ("王秀英", "矣志强"), ("张永福",))


def stage_cases(session: Session, settings: Settings, seed: int = 1) -> int:
    """Put the demo village's cases at every step (CASE_SCRIPTS), by the demo accounts, through the case
    procedure's own code; then escalate what is overdue, as the scheduler would. Returns how many."""
    from app.clock import replaying
    from app.services.cases import case_actions, cases, escalation

    users = {u.role: u for u in session.scalars(select(User).where(User.is_demo.is_(True)))}
    actors = {
        role: Actor(u.id, u.username, u.role, u.region_code, ROLE_REGION_LEVEL[u.role])
        for role, u in users.items()
    }
    wanted = sum(count for count, _ in CASE_SCRIPTS)
    candidates = list(
        session.scalars(
            select(Household)
            .where(
                Household.village_code == DEMO_VILLAGE,
                Household.monitoring_status == MonitoringStatus.not_monitored,
            )
            .order_by(Household.id)
        )
    )
    rng = random.Random(seed)
    chosen = iter(rng.sample(_poorest(session, candidates, wanted), min(wanted, len(candidates))))
    start = utcnow()
    staged = 0
    for count, script in CASE_SCRIPTS:
        for _ in range(count):
            household = next(chosen, None)
            if household is None:
                return staged
            case_id = None
            for action, days_ago in script:
                with replaying(start - timedelta(days=days_ago)):
                    if action == "report":
                        text, risk_type = rng.choice(DIFFICULTIES)
                        signal = cases.report_by_cadre(
                            session,
                            settings,
                            actors[Role.village_cadre],
                            household.id,
                            "high",
                            text,
                            risk_type,
                        )
                        case_id = signal.case_id
                        continue
                    assert case_id is not None
                    actor = actors[_ACTOR_OF[action]]
                    case = case_actions.check(session, actor, case_id, action)
                    body = _case_body(session, action, household, rng)
                    case_actions.apply(session, settings, actor, case, ACTIONS[action].model_validate(body))
            staged += 1
    escalation.escalate_overdue(session, settings)
    return staged


def _poorest(session: Session, households: list[Household], count: int) -> list[Household]:
    """The `count` households with the lowest per-capita net income in their latest report: the ones a
    cadre would report."""
    from app.services.registry import report_views

    latest = dict(
        session.execute(
            select(Report.household_id, func.max(Report.id))
            .where(Report.household_id.in_([h.id for h in households]))
            .group_by(Report.household_id)
        )
        .tuples()
        .all()
    )
    income = {
        r.household_id: r.per_capita_net_income
        for r in report_views.read_many(session, list(latest.values()))
    }
    ranked = sorted(households, key=lambda h: (income.get(h.id) is None, income.get(h.id) or 0, h.id))
    return ranked[:count]


_ACTOR_OF = {
    "verify": Role.village_cadre,
    "review": Role.village_cadre,
    "notice": Role.village_cadre,
    "approve": Role.township_reviewer,
    "confirm": Role.district_officer,
}


def _case_body(session: Session, action: str, household: Household, rng: random.Random) -> dict[str, Any]:
    today = local_today().isoformat()
    if action == "verify":
        return {
            "action": "verify",
            "visited_on": today,
            "visitors": list(rng.choice(VISITORS)),
            "findings": "入户核实，情况属实，家庭收入较上年明显下降",
            "consent_signed": True,
        }
    if action == "review":
        return {"action": "review", "held_on": today, "outcome": "agreed", "attendees": rng.randint(15, 40)}
    if action == "notice":
        return {"action": "notice", "starts_on": today, "objections": ""}
    if action == "approve":
        return {"action": "approve", "comment": "公示无异议，同意上报"}
    workers = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            Member.household_id == household.id,
            Member.left_on.is_(None),
            Member.labour_capacity.not_in(CANNOT_WORK),
        )
    )
    lifted = household.household_type == HouseholdType.lifted
    return {
        "action": "confirm",
        "monitoring_category": (MonitoringCategory.unstable if lifted else MonitoringCategory.marginal).value,
        "risk_types": ["因务工就业不稳"] if workers else ["缺劳动力"],
    }
