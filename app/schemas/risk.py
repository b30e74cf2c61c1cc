from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import PastDate, ReadModel, StrictModel

RiskLevel = Literal["high", "medium", "low"]


class RunRequest(StrictModel):
    as_of: PastDate | None = Field(default=None, description="score as known on this date (default: today)")


class RiskRunRead(ReadModel):
    id: int
    status: str = Field(description="requested | running | completed | failed")
    as_of: date
    mode: str = Field(description="rules (cold start) or model")
    policy_version: int
    model_version: str | None
    triggered_by: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    households_scored: int
    flagged_high: int
    flagged_medium: int
    error: str | None


class ReasonRead(ReadModel):
    code: str
    risk_type: str = Field(description="national risk type (因病 …) or 三保障/饮水/两不愁 flag")
    level: Literal["high", "medium"]
    feature: str
    value: float | None = Field(description="the feature's value; null where it is not a finite number")
    text: str


class HouseholdRiskRead(ReadModel):
    household_id: int
    run_id: int
    as_of: date
    level: RiskLevel
    score: float | None = Field(description="model probability; null while scoring runs on rules alone")
    reasons: list[ReasonRead]
