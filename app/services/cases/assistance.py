"""Assistance (帮扶措施) for monitored households, "缺什么补什么" gaps, and risk elimination (风险消除)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import add_months, local_today
from app.config import Settings
from app.errors import Conflict, NotFound
from app.models import Assistance, Case, Household
from app.models.base import utcnow
from app.models.enums import MonitoringStatus
from app.risk import features, panel_read, rules
from app.risk import panel as pn
from app.schemas.assistance import AssistanceCreate
from app.schemas.policy import PolicyData
from app.services.cases import cases, relief_news
from app.services.platform import access, audit
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor, require_household_writer
from app.services.registry import households

# which measures answer which risk type (a gap is a confirmed type with none of these)
ANSWERS: dict[str, frozenset[str]] = {
    "因病": frozenset({"健康帮扶", "综合保障"}),
    "因学": frozenset({"义务教育保障", "其他教育帮扶"}),
    "因残": frozenset({"综合保障", "健康帮扶", "公益岗位帮扶"}),
    "因自然灾害": frozenset({"住房安全保障", "生产生活条件改善", "综合保障", "产业帮扶"}),
    "因意外事故": frozenset({"健康帮扶", "综合保障"}),
    "因产业项目失败": frozenset({"产业帮扶", "金融帮扶"}),
    "因务工就业不稳": frozenset({"就业帮扶", "公益岗位帮扶"}),
    "缺劳动力": frozenset({"综合保障", "公益岗位帮扶"}),
}
REPORT_LAG_DAYS = 100  # quarterly reports: the last one may end up to a quarter (and some days) ago
UNRESOLVED = {
    "income_below_line",
    "rigid_spending",
    "housing_unsafe",
    "compulsory_dropout",
    "no_medical_insurance",
    "water_unsafe",
    "food_clothing",
}


def add(
    session: Session, settings: Settings, actor: Actor, household_id: int, body: AssistanceCreate
) -> Assistance:
    household = households.load(session, actor, household_id, members=False)
    require_household_writer(actor, household)
    if household.monitoring_status != MonitoringStatus.monitored and not _green_channel(session, household):
        raise Conflict(
            "assistance is recorded for monitored households (or, by the green channel, for a household "
            "whose open case comes from a disaster or an accident)",
            field="household_id",
        )
    row = Assistance(household_id=household.id, created_by=actor.username, **body.model_dump())
    session.add(row)
    session.flush()
    relief_news.on_assistance(session, row)
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("assistance.add", "assistance", row.id, household.id, body.model_dump(mode="json"))],
    )
    return row


def set_status(
    session: Session, settings: Settings, actor: Actor, household_id: int, measure_id: int, status: str
) -> Assistance:
    """A measure moves on (planned → in progress → done, or stopped); audited with before and after."""
    household = households.load(session, actor, household_id, members=False)
    require_household_writer(actor, household)
    row = session.get(Assistance, measure_id, with_for_update=True)
    if row is None or row.household_id != household.id:
        raise NotFound(f"measure {measure_id} not found", field="measure_id")
    if row.status != status:
        change = {"status": {"before": row.status, "after": status}}
        row.status = status
        audit.record(
            session,
            settings,
            actor,
            [audit.Change("assistance.update", "assistance", row.id, household.id, change)],
        )
    return row


GREEN_CHANNEL = frozenset({"因自然灾害", "因意外事故"})


def _green_channel(session: Session, household: Household) -> bool:
    """Disaster and accident cases may get help before the decision (绿色通道)."""
    case = session.scalars(
        select(Case).where(Case.household_id == household.id, Case.status == "open")
    ).first()
    return case is not None and any(r.get("risk_type") in GREEN_CHANNEL for r in case.reasons)


@dataclass
class Gap:
    risk_type: str
    days_without_measure: int


def listing(session: Session, actor: Actor, household_id: int) -> tuple[list[Assistance], list[Gap]]:
    household = households.load(session, actor, household_id, members=False)
    access.require_details(session, actor, household.id)  # measures and gaps reveal the risk types
    rows = list(
        session.scalars(
            select(Assistance).where(Assistance.household_id == household.id).order_by(Assistance.id)
        )
    )
    return rows, gaps(session, household, rows)


def gaps(session: Session, household: Household, rows: list[Assistance]) -> list[Gap]:
    """Confirmed risk types with no matching measure for longer than the policy allows."""
    if household.monitoring_status != MonitoringStatus.monitored or not household.monitored_since:
        return []
    _, policy = policy_service.current_data(session)
    waited = (local_today() - household.monitored_since).days
    # a planned measure closes the warning (something is arranged); elimination needs it under way
    arranged = _answered(household, rows, ("planned", "in_progress", "done"))
    return [Gap(risk_type, waited) for risk_type in arranged if waited > policy.measure_gap_days]


def _answered(household: Household, rows: Sequence[Assistance], statuses: tuple[str, ...]) -> list[str]:
    """The household's confirmed risk types that no measure of this monitoring period answers: one in
    progress, or one in `statuses` started since the household was identified (a measure finished in an
    earlier period of monitoring answers nothing now). A type no category is tied to (其他) is answered
    by any measure."""
    since = household.monitored_since
    current = {
        r.category
        for r in rows
        if r.status == "in_progress" or (r.status in statuses and since is not None and r.started_on >= since)
    }
    return [
        risk_type
        for risk_type in household.risk_types or []
        if not current or (risk_type in ANSWERS and not ANSWERS[risk_type] & current)
    ]


def propose_elimination(
    session: Session, settings: Settings, actor: Actor, household_id: int, kind: str, reason: str
) -> Case:
    """A monitored household whose income has stayed above the line for the policy's months, with its
    三保障, water and rigid spending resolved, may be proposed; the proposal runs the same steps."""
    household = households.load(session, actor, household_id, members=False)
    require_household_writer(actor, household)
    if household.monitoring_status != MonitoringStatus.monitored:
        raise Conflict(
            "only a monitored household can be proposed for risk elimination", field="household_id"
        )
    _, policy = policy_service.current_data(session)
    check_elimination(session, household, policy)
    if session.scalars(
        select(Case.id).where(Case.household_id == household.id, Case.status == "open")
    ).first():
        raise Conflict("the household already has an open case", field="household_id")
    reasons = [{"code": "elimination", "kind": kind, "text": f"风险消除（{kind}）：{reason}"}]
    proposal = cases.SignalIn(household.id, "cadre_report", None, reasons, actor.username)
    case = cases.open_case(session, household, proposal, policy, actor, utcnow(), kind="elimination")
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "case.open", "case", case.id, household.id, {"kind": "elimination", "elimination": kind}
            )
        ],
    )
    return case


def check_elimination(session: Session, household: Household, policy: PolicyData) -> None:
    """409, naming everything missing, unless the household may leave monitoring now: checked when it is
    proposed and again when the district confirms (the facts may have changed during the steps)."""
    if household.no_labour_capacity:
        # 对无劳动能力的监测对象，落实社会保障措施后，暂不标注风险消除，持续跟踪监测
        raise Conflict(
            "risk elimination refused: no member of the household can work; it stays monitored with "
            "兜底 assistance (safety-net measures), whatever its income",
            field="household_id",
        )
    today = local_today()
    problems = (
        _time_monitored(household, policy, today)
        + _income_problems(session, household.id, policy, today)
        + _measures_missing(session, household)
        + _unresolved(session, household.id, policy, today)
    )
    if problems:
        raise Conflict("risk elimination refused: " + "; ".join(problems), field="household_id")


def _time_monitored(household: Household, policy: PolicyData, today: date) -> list[str]:
    months = policy.elimination_min_monitored_months
    since = household.monitored_since
    if since is None or since > add_months(today, -months):
        return [f"monitored since {since or 'an unknown date'}: at least {months} months are needed"]
    return []


def _measures_missing(session: Session, household: Household) -> list[str]:
    """缺什么补什么: every confirmed risk type has a measure in place (planned is not in place)."""
    rows = session.scalars(select(Assistance).where(Assistance.household_id == household.id)).all()
    return [f"no measure in place for {risk_type}" for risk_type in _answered(household, rows, ("done",))]


def _income_problems(session: Session, household_id: int, policy: PolicyData, today: date) -> list[str]:
    """Income above the line in every report of the policy's months, and reports covering all of them
    (one good quarter is not six months above the line)."""
    panel = panel_read.load(session, as_of=today, household_ids=[household_id])
    d = pn.income(panel)
    start, end = panel.reports["start"], panel.reports["end"]
    since = add_months(today, -policy.elimination_months).toordinal()
    inside = np.flatnonzero(end >= since)
    if not len(inside):
        return [f"no report in the last {policy.elimination_months} months"]
    problems = []
    covered = since
    for i in inside[np.argsort(start[inside], kind="stable")]:
        if start[i] > covered + 1:
            problems.append(
                f"no report covers {date.fromordinal(covered)} to {date.fromordinal(int(start[i]) - 1)}"
            )
        covered = max(covered, int(end[i]))
    if covered < today.toordinal() - REPORT_LAG_DAYS:
        problems.append(f"no report since {date.fromordinal(covered)}")
    # 当年监测范围: every report of the months is held against this year's line, not its own year's
    line = float(policy.line_for(today.year))
    below = np.zeros(len(end), dtype=bool)
    below[inside] = ~(d["pc"][inside] >= line - rules.EPS)
    return problems + [
        f"income per head {d['pc'][i]:,.0f} below this year's line {line:,.0f} in the report ending "
        f"{date.fromordinal(int(end[i]))}"
        for i in np.flatnonzero(below)
    ]


def _unresolved(session: Session, household_id: int, policy: PolicyData, today: date) -> list[str]:
    frame = features.build(session, policy, today, [household_id])
    [reasons] = rules.evaluate(frame.columns, policy)
    return [r.text for r in reasons if r.code in UNRESOLVED and r.code != "income_below_line"]
