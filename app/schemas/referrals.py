"""交有关部门: referrals of a monitored household's need to the department that owns the measure."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from app.schemas.assistance import MeasureCategory
from app.schemas.common import FreeLine, FreeText, Money, ReadModel, RecordDate, StrictModel
from app.schemas.users import DepartmentName


class ReferralCreate(StrictModel):
    department: DepartmentName
    measure_category: MeasureCategory = Field(description="the measure asked for, e.g. 综合保障 for 低保")
    need: FreeText = Field(min_length=2, max_length=500, description="what the household needs, and why")


class ReferralAnswer(StrictModel):
    outcome: Literal["granted", "refused"]
    answered_on: RecordDate = Field(description="the department's date for its decision")
    answer: FreeText = Field(
        min_length=1, max_length=500, description="the decision, as the department words it"
    )
    item: FreeLine | None = Field(
        default=None,
        max_length=200,
        description="granted: the measure as it appears on the household's record",
    )
    amount: Money | None = None


class ReferralRead(ReadModel):
    id: int
    household_id: int
    department: str
    measure_category: str
    need: str
    status: str = Field(description="referred | accepted | granted | refused")
    referred_by: str
    referred_at: datetime
    accepted_by: str | None
    accepted_at: datetime | None
    answered_by: str | None
    answered_at: datetime | None
    answered_on: date | None
    answer: str | None
    assistance_id: int | None = Field(description="granted: the household's measure it became")


class ReferralSuggestion(ReadModel):
    department: str
    measure_category: str
    reason: str
    figure: Decimal | None = None
