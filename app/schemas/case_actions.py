"""Bodies of the actions on a case (POST /api/v1/cases/{id}/actions, {"action": ..., ...})."""

from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, field_validator

from app.models.enums import MonitoringCategory
from app.schemas.common import FreeText, PlanDate, RecordDate, RecordId, StrictModel
from app.schemas.reports import ReportCreate

RiskType = Literal[
    "因病", "因学", "因残", "因自然灾害", "因意外事故", "因产业项目失败", "因务工就业不稳", "缺劳动力", "其他"
]
Reason = Annotated[FreeText, Field(min_length=1, max_length=500)]


class Verify(StrictModel):
    """入户核实: the village's home visit."""

    action: Literal["verify"]
    visited_on: RecordDate
    visitors: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(min_length=1, max_length=10)
    findings: FreeText = Field(min_length=1, max_length=2000)
    consent_signed: bool = Field(description="承诺授权: the household signed its consent")
    report: ReportCreate | None = Field(
        default=None, description="indicators as verified at the visit: stored as a new dated report"
    )

    @field_validator("consent_signed")
    @classmethod
    def _consent_required(cls, value: bool) -> bool:
        if not value:
            raise ValueError("the household's signed consent is required before verification")
        return value


class Review(StrictModel):
    """民主评议."""

    action: Literal["review"]
    held_on: RecordDate
    outcome: Literal["agreed", "disagreed"]
    attendees: int = Field(ge=1, le=10_000)


class Notice(StrictModel):
    """公示: runs at least the policy's days (5) from starts_on."""

    action: Literal["notice"]
    starts_on: PlanDate
    objections: FreeText = Field(default="", max_length=2000)


class Approve(StrictModel):
    action: Literal["approve"]
    comment: FreeText = Field(default="", max_length=500)


class Return(StrictModel):
    action: Literal["return"]
    reason: Reason


class Reject(StrictModel):
    action: Literal["reject"]
    reason: Reason


class Close(StrictModel):
    """Withdrawn: a data error, a duplicate, the household's own withdrawal."""

    action: Literal["close"]
    reason: Reason


class Confirm(StrictModel):
    """县级审定: the household becomes monitored with its category and risk types."""

    action: Literal["confirm"]
    monitoring_category: (
        Literal[MonitoringCategory.unstable, MonitoringCategory.marginal, MonitoringCategory.sudden_hardship]
        | None
    ) = Field(default=None, description="required to confirm an identification; not for an elimination")
    risk_types: list[RiskType] | None = Field(default=None, min_length=1, max_length=5)

    @field_validator("risk_types")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each risk type once")
        return value


class Reassign(StrictModel):
    action: Literal["reassign"]
    user_id: RecordId
    reason: Reason


CaseAction = Annotated[
    Verify | Review | Notice | Approve | Return | Reject | Close | Confirm | Reassign,
    Field(discriminator="action"),
]


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object with an action")
    return value


# The body as the route receives it: documented as the union (each action's fields in the OpenAPI and in
# generated clients), but checked by the route only after the case, its step and the caller's role, so
# refusals keep their order (404, 409, 403, then 422 naming the field).
CaseActionBody = Annotated[dict[str, Any], PlainValidator(_object, json_schema_input_type=CaseAction)]

ACTIONS: dict[str, type[StrictModel]] = {
    "verify": Verify,
    "review": Review,
    "notice": Notice,
    "approve": Approve,
    "return": Return,
    "reject": Reject,
    "close": Close,
    "confirm": Confirm,
    "reassign": Reassign,
}
