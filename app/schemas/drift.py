"""The drift report: how far a scoring run's inputs and scores have moved from the model's reference."""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from app.schemas.common import ReadModel

DriftStatus = Literal["stable", "watch", "drift", "too_few", "not_comparable"]
STATUS_WORDS = (
    "stable: PSI at most the watch threshold | watch: above it | drift: above the drift threshold | "
    "too_few: fewer households than the policy's minimum on either side (shown, not flagged) | "
    "not_comparable: a side has no value to compare (e.g. a run on rules alone has no scores)"
)


class VariableDriftRead(ReadModel):
    name: str = Field(description="a model feature (GET /risk/model lists them), or `score`")
    label: str = Field(description="in Chinese, as the model card shows it")
    unit: str
    psi: float | None = Field(description="population stability index against the reference")
    status: DriftStatus = Field(description=STATUS_WORDS)
    missing_share: float | None = Field(description="share of households without a value in this run")
    reference_missing_share: float | None


class ScopeDriftRead(ReadModel):
    township_code: str | None = Field(description="null: the whole district")
    township_name: str | None
    households: int = Field(description="households with a report, profiled in this run")
    reference_count: int = Field(
        description="the reference's households (a run) or household-periods (a training window)"
    )
    status: DriftStatus = Field(description="the worst of its variables' statuses")
    drifted: list[str] = Field(description="the variables flagged as drifted")
    features: list[VariableDriftRead]
    score: VariableDriftRead


class DriftReferenceRead(ReadModel):
    kind: Literal["training", "first_run", "self"] = Field(
        description="training: the training window of a model | first_run: no model was trained when the "
        "run was scored, so it is compared with the first completed run | self: this run is that first "
        "run (every index is 0)"
    )
    profile_id: int
    model_id: int | None
    run_id: int | None
    window_from: date
    window_to: date
    note: str = Field(description="the reference in words")


class DriftThresholdsRead(ReadModel):
    watch_psi: Decimal
    drift_psi: Decimal
    min_households: int
    policy_version: int = Field(description="the current policy, whose thresholds judge the figures")


class DriftReportRead(ReadModel):
    run_id: int
    as_of: date
    reference: DriftReferenceRead
    thresholds: DriftThresholdsRead
    district: ScopeDriftRead
    townships: list[ScopeDriftRead]
    drifted: list[str] = Field(
        description="every flag in words: `<variable>` district-wide, `<township code>:<variable>` for a "
        "township"
    )
