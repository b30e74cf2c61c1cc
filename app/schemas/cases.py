from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.models.base import utcnow
from app.models.enums import CaseStep, Role
from app.schemas.case_actions import RiskType
from app.schemas.common import FreeText, Page, ReadModel, RecordId, StrictModel
from app.schemas.risk import HouseholdRiskRead

CaseSource = Literal["risk_scorer", "cadre_report", "department", "self_application"]


class CaseRead(ReadModel):
    id: int
    household_id: int
    village_code: str
    township_code: str
    source: str
    kind: Literal["identification", "elimination"]
    status: Literal["open", "closed"]
    step: CaseStep
    outcome: Literal["confirmed", "rejected", "withdrawn"] | None
    level: str | None = Field(description="the highest level among the case's signals")
    reasons: list[dict[str, Any]]
    opened_at: datetime
    due_at: datetime = Field(
        description="when the current step is due (the village's three steps share one window)"
    )
    decision_due_at: datetime = Field(description="the policy's deadline for the district's decision")
    closed_at: datetime | None
    notice_ends_on: date | None = Field(
        description="the public notice's last day; the township approves from then"
    )
    assigned_user_id: int | None = Field(description="the person the case was reassigned to, if any")
    overdue: bool = False
    household_no: str | None = Field(default=None, description="户编号 (in lists and the case page)")
    village_name: str | None = Field(default=None, description="the village's name (in lists)")
    decision_overdue: bool = Field(
        default=False, description="still open past the policy's days from the first signal to the decision"
    )

    @classmethod
    def of(cls, case: Any) -> "CaseRead":
        read = cls.model_validate(case)
        now = utcnow()
        read.overdue = case.status == "open" and case.due_at < now
        read.decision_overdue = case.status == "open" and case.decision_due_at < now
        return read


class CaseEventRead(ReadModel):
    at: datetime
    actor: str
    action: str
    step: str
    data: dict[str, Any]


class LatestIncome(BaseModel):
    """The household's latest report: its per-capita net income against that year's monitoring line."""

    report_id: int
    period_end: date
    per_capita_net_income: Decimal | None = Field(description="人均纯收入 over the 12 months to period_end")
    estimated: bool = Field(description="the reports cover less than the 12 months: scaled up")
    monitoring_line: Decimal = Field(description="the policy's monitoring line for period_end's year")
    below_line: bool | None = Field(description="null when nobody lives there")


class CaseHousehold(BaseModel):
    """The household a case is about, as its case page shows it."""

    id: int
    household_no: str
    village_name: str | None
    township_name: str | None
    household_type: str
    monitoring_status: str
    monitoring_category: str
    size: int = Field(description="members living there today")
    latest_income: LatestIncome | None = Field(description="null when it has no report yet")
    risk: HouseholdRiskRead | None = Field(
        description="its level, reasons and factors in the current run (GET /households/{id}/risk); null "
        "when not scored yet"
    )


class Assignee(BaseModel):
    id: int
    username: str
    role: str


class CaseDetail(CaseRead):
    timeline: list[CaseEventRead]
    allowed_actions: list[str] = Field(
        description="the actions the caller may take on the case now (POST /cases/{id}/actions); any "
        "other is refused"
    )
    household: CaseHousehold
    assignees: list[Assignee] = Field(
        description="who the case can be reassigned to (its current step's owners), when the caller may "
        "reassign it; empty otherwise"
    )
    confirm_categories: list[str] = Field(
        description="the monitoring categories `confirm` accepts (监测对象类别), for the decision's form"
    )


class NotificationRead(ReadModel):
    id: int
    created_at: datetime
    kind: str = Field(description="new_work | returned | escalated | assigned | cluster_alert")
    case_id: int | None = Field(description="the case (none for a cluster alert)")
    step: str
    alert_id: int | None = Field(default=None, description="a cluster alert's id (GET /cluster-alerts)")
    text: str | None = Field(default=None, description="a cluster alert in words")
    read_at: datetime | None


class NotificationsMarked(BaseModel):
    marked: int = Field(description="how many unread notifications were marked read")


class CadreReport(StrictModel):
    """基层干部排查: a cadre reports a household in difficulty."""

    household_id: RecordId
    level: Literal["high", "medium"] = "high"
    description: FreeText = Field(min_length=1, max_length=1000, description="what the cadre found")
    risk_type: RiskType | None = Field(
        default=None,
        description="the cause, if known (因自然灾害 and 因意外事故 open the green channel: assistance before"
        " the decision)",
    )


class SignalRead(ReadModel):
    id: int
    household_id: int | None
    source: str
    level: str | None
    outcome: str = Field(description="opened | attached | monitored | suppressed | unmatched | recorded")
    case_id: int | None


SignalOutcome = Literal["opened", "attached", "monitored", "suppressed", "unmatched", "recorded"]


class SignalRecord(SignalRead):
    """A signal on a household's record: what it said, where it came from, what became of it."""

    received_at: datetime
    reasons: list[dict[str, Any]]
    origin: str = Field(description='where it came from, e.g. "risk_run:12" or "医保.csv line 3"')


class CasePage(Page[CaseRead]):
    overdue: int = Field(
        description="how many of the listed cases (all pages) are past their step's due time"
    )


class ProcedureStep(BaseModel):
    step: CaseStep
    label_zh: str
    owner: Role = Field(description="who works the step: it waits in their inbox")
    escalates_to: Role = Field(description="who hears when the step's window has run out")
    window_days: int | None = Field(
        description="the days of the deadline window opened on entering the step, under the current "
        "policy; null: it runs within the window of the step before (the village's three steps share one)"
    )


class ProcedureAction(BaseModel):
    action: str
    label_zh: str
    steps: list[CaseStep] = Field(description="the steps at which it may be taken")
    roles: list[Role] = Field(description="who may take it (the case's facts may still refuse it)")
    next_step: CaseStep | None = Field(description="the step it moves the case to")
    outcome: str | None = Field(description="the outcome it closes the case with")


class Procedure(BaseModel):
    """The case procedure as the service applies it: its steps in order and the actions on them."""

    steps: list[ProcedureStep]
    actions: list[ProcedureAction]
