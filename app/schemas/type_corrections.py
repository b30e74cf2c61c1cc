"""Corrections of a household's type (户类型): proposed by the village, decided by the township."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.models.enums import HouseholdType
from app.schemas.common import FreeText, ReadModel, StrictModel


class TypeCorrectionCreate(StrictModel):
    household_type: HouseholdType = Field(description="the type the household should have")
    reason: FreeText = Field(min_length=2, max_length=500, description="why the registry is wrong (audited)")


class TypeCorrectionDecision(StrictModel):
    decision: Literal["approve", "reject"]
    note: FreeText = Field(default="", max_length=500)


class TypeCorrectionRead(ReadModel):
    id: int
    household_id: int
    from_type: HouseholdType
    to_type: HouseholdType
    reason: str
    status: str = Field(description="proposed | approved | rejected")
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
