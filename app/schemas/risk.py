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
    mode: str = Field(
        description="rules (no usable champion), model (a learned champion) or baseline (a baseline won)"
    )
    policy_version: int
    model_version: str | None = Field(description="the champion's id (risk model) the run used")
    champion: str | None = Field(
        description="the scorer the run used: model | logistic_regression | distance_to_line | rules"
    )
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
    score: float | None = Field(
        description="the champion's probability of falling below the line; null while scoring runs on "
        "rules alone"
    )
    reasons: list[ReasonRead]
    factors: list[FactorRead] | None = Field(
        description="the model's top contributing factors, in words (null in rules mode; empty when "
        "nothing raises the household's risk above a typical household's)"
    )


class MetricRead(ReadModel):
    value: float
    low: float | None = Field(description="95 % bootstrap interval, lower end")
    high: float | None


class TownshipRecallRead(ReadModel):
    township: str
    examples: int
    positives: int
    recall: MetricRead | None = Field(description="recall at the alert budget here, 95 % interval")


class ScorerFoldsRead(ReadModel):
    recall: MetricRead = Field(description="recall at the alert budget over all folds, 95 % interval")
    by_fold: list[float] = Field(description="each fold's recall, oldest fold first")
    by_township: list[TownshipRecallRead]


class FoldsRead(ReadModel):
    budget: float = Field(description="the policy's alert budget (share of households)")
    folds: int
    periods: list[date] = Field(description="each fold's test period (features known on it), oldest first")
    scorers: dict[str, ScorerFoldsRead] = Field(
        description="model, logistic_regression, distance_to_line, rules: each judged on the same folds"
    )
    differences: dict[str, MetricRead] = Field(
        default_factory=dict,
        description="each pair \"a-b\": a's recall minus b's, with the paired bootstrap's 95 % interval "
        "(households drawn with all their rows); a is better with confidence when the interval's low end "
        "is above zero — what the champion's choice rests on",
    )


class VerifiersRead(ReadModel):
    decisions: int = Field(description="verifier decisions taken after the newest fold's training")
    confirmed: int
    note: str | None = Field(default=None, description="why the scorers were not judged on them")
    scorers: dict[str, dict[str, MetricRead]] = Field(
        description="per scorer: ROC AUC of confirmed against rejected, 95 % interval"
    )


class ModelVersionRead(ReadModel):
    id: int
    status: str = Field(description="active | retired | rejected | pending (awaits an admin's confirmation)")
    champion: str = Field(
        description="the scorer this training installed: model | logistic_regression | distance_to_line "
        "| rules"
    )
    champion_label: str
    why: str | None = Field(description="why this scorer is the champion, in words")
    capacity: str | None = Field(description="small (shallow, monotone) or large: follows the data's size")
    created_at: datetime
    created_by: str
    confirmed_by: str | None
    confirmed_at: datetime | None
    policy_version: int
    estimator: str
    sklearn_version: str
    features: list[str]
    train_from: date
    train_to: date
    test_period: date = Field(description="the newest fold's test: features known on this day")
    examples_train: int
    examples_test: int
    positives_test: int
    decision: str
    sha256: str
    folds: FoldsRead | None = Field(description="every scorer's recall at the budget on the folds")
    verifiers: VerifiersRead | None = Field(
        description="every scorer judged on the verifiers' decisions that no fit has seen"
    )
    metrics: dict[str, MetricRead | None] = Field(description="the learned model on the newest fold")
    baselines: dict[str, dict[str, MetricRead | None]] = Field(description="the others on the newest fold")
    recall_at_10_by_township: list[dict[str, str | int | float | None]]


class ModelStatusRead(ReadModel):
    mode: Literal["model", "baseline", "rules"] = Field(
        description="what the next scoring run uses: a learned champion, a baseline champion, or the "
        "rules alone"
    )
    reason_code: Literal["cold_start", "model", "baseline", "unusable"] = Field(
        description="why: nothing trained yet | a learned champion | a baseline is champion | the active "
        "champion cannot be loaded"
    )
    reason: str
    champion: str | None = Field(description="the scorer in use")
    champion_label: str | None
    current: ModelVersionRead | None
    pending: ModelVersionRead | None = Field(
        description="a champion waiting for an admin's confirmation (the active one cannot be loaded)"
    )
    recent: list[ModelVersionRead] = Field(description="the latest trained versions, newest first")


class TrainingRequestRead(ReadModel):
    id: int
    status: str = Field(description="requested | running | done | failed")
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    model_id: int | None = Field(description="the champion this training stored (whatever its status)")
    outcome: str | None = Field(description="the decision, or why nothing was trained (e.g. cold start)")
