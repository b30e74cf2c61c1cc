"""Household and member bodies. Cross-field rules (head count, schooling…) live in the service."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from app.clock import local_today
from app.models.enums import (
    CaseStep,
    DropoutReason,
    Employment,
    Health,
    HouseholdType,
    HousingGrade,
    LabourCapacity,
    LeftReason,
    MemberFactKind,
    MonitoringCategory,
    MonitoringStatus,
    Relation,
    Schooling,
    SchoolLevel,
    Sex,
)
from app.pii import normalise_id_number, validate_id_number, validate_phone
from app.schemas.common import FreeLine, PastDate, ReadModel, RecordId, StrictModel, Version

HouseholdNo = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,32}$", description="户编号")]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{12}$", description="12-digit 统计用区划代码")]
Name = Annotated[str, Field(min_length=1, max_length=50)]
ClientRef = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="the client's own id for this registration (e.g. an offline draft's), unique per "
        "village: sending the same body again answers the stored household",
    ),
]


class IdNumberMixin(StrictModel):
    @field_validator("id_number", mode="before", check_fields=False)
    @classmethod
    def _valid_id_number(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        number = normalise_id_number(value)
        validate_id_number(number, today=local_today())
        return number


class MemberFields(StrictModel):
    """Fields a member has beyond identity; every one optional (None = not recorded)."""

    ethnicity: str | None = Field(default=None, max_length=20)
    joined_on: PastDate | None = None
    labour_capacity: LabourCapacity | None = None
    health: Health | None = None
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    schooling: Schooling | None = None
    school_level: SchoolLevel | None = None
    dropout_reason: DropoutReason | None = None
    basic_medical_insurance: bool | None = None
    serious_illness_insurance: bool | None = None
    basic_pension: bool | None = None
    dibao: bool | None = Field(default=None, description="receives 低保")
    tekun: bool | None = Field(default=None, description="receives 特困供养")
    employment: Employment | None = None
    migrant_months: int | None = Field(default=None, ge=0, le=12)
    effective_on: PastDate | None = Field(
        default=None,
        description="the day the health, labour capacity, disability grade, schooling, school level, "
        "dropout reason, 低保 and 特困 given here began to hold (default today; not before the birth "
        "date): the facts recorded before give way from that day, the risk model's earlier periods keep "
        "what held then",
    )


class MemberCreate(MemberFields, IdNumberMixin):
    name: Name
    id_number: str = Field(description="18-character resident ID number (GB 11643)")
    relation: Relation
    sex: Sex
    birth_date: PastDate | None = Field(
        default=None, description="must match the ID number; derived if absent"
    )


class MemberUpdate(MemberFields, IdNumberMixin):
    """A change to a member; left_on + left_reason record the member leaving the household."""

    version: Version | None = Field(default=None, description="the member's current version (or If-Match)")
    name: Name | None = None
    id_number: str | None = None
    relation: Relation | None = None
    sex: Sex | None = None
    birth_date: PastDate | None = None
    left_on: PastDate | None = None
    left_reason: LeftReason | None = None
    successor_head_id: RecordId | None = Field(
        default=None, description="when the head leaves: the member who becomes head"
    )


class PhoneMixin(StrictModel):
    @field_validator("phone", mode="before", check_fields=False)
    @classmethod
    def _valid_phone(cls, value: object) -> object:
        return validate_phone(value) if isinstance(value, str) else value


class HouseholdCreate(PhoneMixin):
    household_no: HouseholdNo
    village_code: RegionCode
    address: FreeLine = Field(default="", max_length=200)
    phone: str | None = None
    household_type: HouseholdType
    # no monitoring status or category: a household enters monitoring only by the procedure (a case
    # decided by the district) or, for one already monitored elsewhere, by the audited import
    members: list[MemberCreate] = Field(min_length=1, max_length=30)
    client_ref: ClientRef | None = None


class HouseholdUpdate(PhoneMixin):
    version: Version | None = Field(default=None, description="the household's current version (or If-Match)")
    address: FreeLine | None = Field(default=None, max_length=200)
    phone: str | None = None
    # not here: monitoring status and category follow the case procedure (a decision); the household
    # type is registry history, changed by a correction the township approves (type-corrections)


class MemberRead(ReadModel):
    id: int
    name: str
    id_number: str = Field(description="masked (first 6 and last 4) unless revealed")
    relation: Relation
    sex: Sex
    birth_date: date | None = Field(
        description="only when revealed: with the masked ID it would give the full ID"
    )
    birth_year: int
    ethnicity: str | None
    joined_on: date | None
    left_on: date | None
    left_reason: LeftReason | None
    active: bool
    labour_capacity: LabourCapacity | None
    health: Health | None
    disability_grade: int | None
    schooling: Schooling | None
    school_level: SchoolLevel | None
    dropout_reason: DropoutReason | None
    basic_medical_insurance: bool | None
    serious_illness_insurance: bool | None
    basic_pension: bool | None
    dibao: bool | None
    tekun: bool | None
    employment: Employment | None
    migrant_months: int | None
    version: int


class MemberFactRead(ReadModel):
    """A dated fact: `value` held from `valid_from` up to, not including, `valid_to` (null: still holds),
    as recorded at `recorded_at` by `recorded_by`."""

    fact: MemberFactKind
    value: bool | int | str = Field(description="as the member's field of the same name holds it")
    valid_from: date
    valid_to: date | None
    recorded_at: datetime
    recorded_by: str
    superseded_at: datetime | None = Field(
        description="when a later change replaced this record (the record as it stands: null)"
    )


class HouseholdSummary(ReadModel):
    id: int
    household_no: str
    village_code: str
    township_code: str | None
    address: str
    phone: str | None = Field(description="masked (last 4 digits) unless revealed")
    household_type: HouseholdType
    monitoring_category: MonitoringCategory
    monitoring_status: MonitoringStatus
    no_labour_capacity: bool = Field(description="整户无劳动能力兜底保障户: no active member can work")
    size: int = Field(description="members active today")
    version: int
    created_at: datetime
    updated_at: datetime
    risk_level: Literal["high", "medium", "low"] | None = Field(
        default=None,
        description="level in the current scoring run; null when not scored, or for a department",
    )
    stale: bool | None = Field(
        default=None,
        description="neither a report ending nor a visit within the policy's stale_report_months (to "
        "visit, as GET /visits/due); null for a department",
    )
    last_report_end: date | None = Field(
        default=None,
        description="end of the last effective report; null when it has never reported (尚无报告) "
        "or for a department",
    )
    last_visit_on: date | None = Field(
        default=None,
        description="day of the last recorded visit; null when never visited or for a department",
    )
    open_case_id: int | None = Field(
        default=None, description="the household's open case; null for a department"
    )
    open_case_step: CaseStep | None = None
    head_name: str | None = Field(
        default=None, description="the active head's name: only for the village's own cadre"
    )


class HouseholdRead(HouseholdSummary):
    members: list[MemberRead]
    revealed: bool = Field(description="true when ID numbers and phone are shown in full (audited)")
    can_reveal: bool = Field(
        default=False, description="whether this reader may ask for ?reveal=true (audited)"
    )


class FormChoices(ReadModel):
    household_types: list[HouseholdType]
    relations: list[Relation]
    sexes: list[Sex]
    labour_capacities: list[LabourCapacity]
    healths: list[Health]
    disability_grades: list[int] = Field(description="残疾等级 1–4: required when health is 残疾")
    housing_grades: list[HousingGrade] = Field(description="房屋安全等级 A–D; C and D are 危房")
    risk_types: list[str] = Field(description="the national risk types a cadre's report may name")
