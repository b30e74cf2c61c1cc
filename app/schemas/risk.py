from datetime import date, datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import ReadModel, RecordDate, StrictModel

RiskLevel = Literal["high", "medium", "low"]


class RunRequest(StrictModel):
    as_of: RecordDate | None = Field(
        default=None, description="score as known on this date (default: today; from 2000-01-01)"
    )


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


class FactorRead(ReadModel):
    feature: str
    value: float | None
    effect: float = Field(description="how much lower the probability would be with a typical value")
    text: str = Field(description="the feature and its value in words, e.g. 转移性收入占比 64%")


class HouseholdRiskRead(ReadModel):
    household_id: int
    run_id: int
    as_of: date
    level: RiskLevel
    score: float | None = Field(description="model probability; null while scoring runs on rules alone")
    reasons: list[ReasonRead]
    factors: list[FactorRead] | None = Field(
        description="the model's top contributing factors, in words (null in rules mode; empty when "
        "nothing raises the household's risk above a typical household's)"
    )


class MetricRead(ReadModel):
    value: float
    low: float | None = Field(description="95 % bootstrap interval, lower end")
    high: float | None


class ModelVersionRead(ReadModel):
    id: int
    status: str = Field(description="active | retired | rejected")
    created_at: datetime
    created_by: str
    policy_version: int
    estimator: str
    sklearn_version: str
    features: list[str]
    train_from: date
    train_to: date
    test_period: date = Field(description="the hold-out: features known on this day, outcomes after it")
    examples_train: int
    examples_test: int
    positives_test: int
    decision: str
    sha256: str
    metrics: dict[str, MetricRead | None]
    baselines: dict[str, dict[str, MetricRead | None]]
    recall_at_10_by_township: list[dict[str, str | int | float | None]]


class ModelStatusRead(ReadModel):
    mode: Literal["model", "rules"] = Field(description="what the next scoring run uses")
    reason_code: Literal["cold_start", "model", "unusable"] = Field(
        description="why: no model trained yet | the active model | the active model cannot be loaded"
    )
    reason: str
    current: ModelVersionRead | None
    recent: list[ModelVersionRead] = Field(description="the latest trained versions, newest first")
