"""Field work: helpers (帮扶责任人), their pairing with households, and visits (走访记录)."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from app.models.enums import HouseholdType
from app.pii import validate_phone
from app.schemas.common import (
    FreeLine,
    FreeText,
    PlanDate,
    ReadModel,
    RecordDate,
    RecordId,
    StrictModel,
    Version,
)
from app.schemas.households import ClientRef

VisitKind = Literal["routine", "verification", "follow_up", "campaign"]
# what a visit found, besides its words: each may open a case (see VisitCreate.open_case)
Finding = Literal["income_change", "illness", "disaster", "housing", "schooling", "water"]
FINDING_LABELS: dict[str, str] = {
    "income_change": "收入变化",
    "illness": "患病",
    "disaster": "受灾",
    "housing": "住房",
    "schooling": "上学",
    "water": "饮水",
}
# the cause a finding suggests, for the case it opens (因病, 因学 …); the first finding's wins
FINDING_RISK_TYPES: dict[str, str] = {
    "illness": "因病",
    "disaster": "因自然灾害",
    "schooling": "因学",
}
PersonName = Annotated[str, Field(min_length=1, max_length=50)]


class HelperCreate(StrictModel):
    name: PersonName
    unit: FreeLine = Field(min_length=1, max_length=100, description="工作单位, e.g. 红塔区农业农村局")
    phone: str = Field(description="mobile or landline; stored encrypted, shown masked")
    user_id: RecordId | None = Field(default=None, description="the helper's own account, if any")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return validate_phone(value)


class HelperUpdate(StrictModel):
    unit: FreeLine | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = None
    active: bool | None = Field(default=None, description="false: no longer assignable (kept in history)")
    version: Version = Field(description="the version read: a stale one is a 409")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else validate_phone(value)


class HelperRead(ReadModel):
    id: int
    name: str
    unit: str
    phone_masked: str
    user_id: int | None
    region_code: str
    active: bool
    version: int
    households: int = Field(default=0, description="households currently paired with the helper")


class HelperPhone(ReadModel):
    id: int
    phone: str


class AssignmentCreate(StrictModel):
    """Pair a helper with the household from `started_on`; a current helper is replaced (its pairing ends
    that day and stays in the history)."""

    helper_id: RecordId
    started_on: RecordDate
    reason: FreeLine | None = Field(default=None, max_length=200, description="why the helper changes")


class AssignmentEnd(StrictModel):
    ended_on: RecordDate
    reason: FreeLine = Field(min_length=1, max_length=200, description="e.g. 风险消除, 调离")


class AssignmentRead(ReadModel):
    id: int
    household_id: int
    helper_id: int
    helper_name: str
    helper_unit: str
    helper_phone_masked: str
    started_on: date
    ended_on: date | None
    end_reason: str | None
    assigned_by: str
    ended_by: str | None


class OpenCase(StrictModel):
    """Open a case (or join the open one) from the visit's findings, in the same request."""

    level: Literal["high", "medium"] = "high"


class VisitCreate(StrictModel):
    client_ref: ClientRef = Field(
        description="the client's own id for this visit (e.g. an offline draft's): sending the same body "
        "again answers the stored visit; another body with it is a 409"
    )
    visited_on: RecordDate
    kind: VisitKind
    visitors: list[PersonName] = Field(min_length=1, max_length=10)
    findings: FreeText = Field(default="", max_length=2000, description="what was found, in words")
    flags: list[Finding] = Field(default_factory=list, max_length=6, description="what was found, by kind")
    open_case: OpenCase | None = Field(
        default=None, description="a problem found: open a case from the visit (needs at least one flag)"
    )

    @field_validator("flags")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each finding once")
        return value

    @field_validator("open_case")
    @classmethod
    def _case_needs_a_finding(cls, value: OpenCase | None, info: ValidationInfo) -> OpenCase | None:
        if value is not None and not info.data.get("flags"):
            raise ValueError("open_case needs at least one finding in flags")
        return value


class PhotoRead(ReadModel):
    id: int
    media_type: str
    size: int
    width: int
    height: int
    uploaded_at: datetime


class VisitRead(ReadModel):
    id: int
    household_id: int
    village_code: str
    visited_on: date
    kind: VisitKind
    visitors: list[str]
    findings: str
    flags: list[str]
    client_ref: str
    recorded_at: datetime
    case_id: int | None = Field(default=None, description="the case the visit opened or joined")
    signal_outcome: str | None = Field(default=None, description="opened | attached | monitored | suppressed")
    photos: list[PhotoRead] = Field(default_factory=list)


TownshipCode = Annotated[str, Field(pattern=r"^[0-9]{12}$")]


class CampaignCreate(StrictModel):
    name: FreeLine = Field(min_length=1, max_length=100, description="e.g. 2026 年防返贫集中排查")
    starts_on: PlanDate
    ends_on: PlanDate
    townships: list[TownshipCode] | None = Field(
        default=None, min_length=1, max_length=100, description="some townships (null: the whole county)"
    )
    household_types: list[HouseholdType] | None = Field(
        default=None, min_length=1, description="households of these types (脱贫户, 一般农户) …"
    )
    monitoring_categories: list[Literal["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]] | None = Field(
        default=None,
        min_length=1,
        description="… or of these monitoring categories (neither: every household)",
    )

    @field_validator("ends_on")
    @classmethod
    def _after_start(cls, value: date, info: ValidationInfo) -> date:
        starts = info.data.get("starts_on")
        if starts is not None and value < starts:
            raise ValueError("ends_on is before starts_on")
        return value


class CampaignRead(ReadModel):
    id: int
    name: str
    starts_on: date
    ends_on: date
    townships: list[str] | None
    household_types: list[str] | None
    monitoring_categories: list[str] | None
    status: str = Field(description="open | closed")
    tasks: int = Field(description="households in scope (one task each)")
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None


class VillageProgress(BaseModel):
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    tasks: int
    visited: int
    cases_opened: int = Field(description="identification cases opened in the period (in a closed summary)")
    risks_eliminated: int = Field(
        description="risk eliminations confirmed in the period (in a closed summary)"
    )


class CampaignProgress(BaseModel):
    campaign: CampaignRead
    tasks: int
    visited: int
    villages: list[VillageProgress]


class CampaignSummary(BaseModel):
    campaign: CampaignRead
    totals: dict[str, int] = Field(description="tasks, visited, cases_opened, risks_eliminated")
    villages: list[VillageProgress]


class FieldTaskRead(ReadModel):
    id: int
    kind: Literal["campaign", "follow_up"]
    household_id: int
    household_no: str
    village_code: str
    campaign_id: int | None
    case_id: int | None = Field(description="a follow-up's elimination case")
    months: int | None = Field(description="a follow-up's months after the elimination")
    opens_on: date = Field(description="visits from this day complete it")
    due_on: date
    done_on: date | None
    visit_id: int | None
    overdue: bool = Field(description="a follow-up past its day with no visit")


class ClusterAlertRead(ReadModel):
    id: int
    level: Literal["village", "township"]
    region_code: str
    region_name: str = ""
    township_code: str
    window_start: date
    window_end: date
    households: list[int]
    signals: int
    dominant_reason: str
    dominant_reason_label: str = ""
    reasons: dict[str, int]
    raised_at: datetime
