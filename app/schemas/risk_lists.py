"""Weekly risk lists in JSON; the Chinese labels CSV and XLSX use."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import ReadModel

Change = Literal["new", "continuing", "level_up", "level_down", "resolved"]
Level = Literal["high", "medium", "low"]
ExportFormat = Literal["json", "csv", "xlsx"]


class RiskListRead(ReadModel):
    id: int
    week: str = Field(description='ISO week, e.g. "2026-W48"')
    status: Literal["current", "superseded"]
    generated_at: datetime
    generated_by: str
    run_id: int | None = Field(description="the scoring run whose levels the list froze")
    policy_version: int
    previous_id: int | None = Field(description="the list it was compared with (the week before)")
    entries: int = Field(description="households on the list")
    resolved: int = Field(description="households that left it since the week before")
    superseded_at: datetime | None
    superseded_by: str | None


class RiskListEntryRead(BaseModel):
    household_id: int
    household_no: str
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    address: str
    head_name: str | None
    head_id_masked: str | None
    household_type: str
    monitoring_category: str
    monitoring_status: str
    level: str | None
    score: float | None
    reasons: str = Field(description="the reasons in words, with their values")
    reason_codes: list[str]
    risk_types: list[str]
    case_id: int | None
    case_step: str | None
    case_days_open: int | None
    overdue: bool
    measures: str = Field(description="assistance measures in place")
    helper_name: str | None = Field(
        default=None,
        description="the helper (帮扶责任人) when the list was made; none for a monitored one: a gap",
    )
    change: Change
    previous_level: str | None
    resolved_reason: str | None = Field(
        description="why it left the list: risk_eliminated | case_rejected | case_withdrawn | score_fell"
        " | other"
    )


class RiskListPage(BaseModel):
    risk_list: RiskListRead
    items: list[RiskListEntryRead]
    total: int
    page: int
    page_size: int
    reason_labels: dict[str, str] = Field(description="the reason codes in words (the `reason` filter)")


class TownshipLevels(BaseModel):
    township_code: str
    township_name: str
    high: int
    medium: int
    low: int = Field(description="on the list for an open case or monitoring, not at high or medium risk")
    overdue_cases: int = Field(description="open cases of its listed households past their due time")
    monitored_without_helper: int = Field(default=0, description="monitored households with no helper")


class TrendTownship(BaseModel):
    township_code: str
    township_name: str
    high: int
    medium: int


class TrendWeek(BaseModel):
    week: str
    list_id: int
    high: int = Field(description="households at high risk on that week's list (in the caller's region)")
    medium: int
    by_township: list[TrendTownship] = Field(
        description="every township of the trend, in code order (0 where it had none that week)"
    )


class ScoredBy(BaseModel):
    run_id: int
    as_of: date
    mode: str = Field(description="rules (no champion yet), model (a learned champion) or baseline")
    champion: str | None = Field(description="model | logistic_regression | distance_to_line | rules")
    champion_label: str
    model_id: int | None


class ClusterAlertBrief(BaseModel):
    id: int
    level: str = Field(description="village | township")
    region_code: str
    region_name: str
    households: int
    dominant_reason: str = Field(description="a risk type (因病 …) or a reason code")
    window_start: date
    window_end: date


class RiskListSummary(BaseModel):
    week: str
    list_id: int
    households: int = Field(description="on the list (in the caller's region)")
    by_township: list[TownshipLevels]
    by_risk_type: dict[str, int]
    by_reason: dict[str, int] = Field(description="reason codes")
    changes: dict[str, int] = Field(description="new, continuing, level_up, level_down, resolved")
    cases_by_step: dict[str, int]
    overdue_cases: int
    monitored_without_helper: int | None = Field(
        description="monitored households on the list with no helper (帮扶责任人) when it was made: a gap "
        "(null for a list made before helpers were recorded)"
    )
    median_days_to_decision: float | None = Field(
        description="cases decided in the 7 days before the list was made"
    )
    decisions: int
    confirmed_risk_types_with_measure: float | None = Field(
        description="share of monitored households' confirmed risk types that have a matching measure"
    )
    trend: list[TrendWeek] = Field(
        description="high and medium households on the last 12 weekly lists up to this one, oldest first"
    )
    reason_labels: dict[str, str] = Field(description="the reason codes in words (the list's filter)")
    scored_by: ScoredBy | None = Field(description="the scoring run the list was made from and its champion")
    cluster_alerts: list[ClusterAlertBrief] = Field(
        default_factory=list, description="many households hit at once: alerts whose window ended in the week"
    )
