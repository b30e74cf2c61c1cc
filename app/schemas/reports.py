from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, SkipValidation, ValidationInfo, field_validator

from app.clock import add_months
from app.models.enums import DisasterType, EventKind, HousingGrade
from app.schemas.common import Money, MoneyOut, ReadModel, RecordDate, RecordId, StrictModel
from app.schemas.households import HouseholdNo

ClientRef = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="the client's own id for the report, unique per household; makes re-sending safe",
    ),
]


class Income(StrictModel):
    """Income for the report's period (not annual), in yuan."""

    wages: Money = Field(description="工资性收入")
    business: Money = Field(description="生产经营性收入 (gross)")
    property: Money = Field(description="财产性收入")
    transfer: Money = Field(description="转移性收入")
    production_cost: Money = Field(description="生产经营性支出")


class Spending(StrictModel):
    """合规自付支出 in the period."""

    medical: Money = Decimal(0)
    education: Money = Decimal(0)


class EventIn(StrictModel):
    kind: EventKind
    disaster_type: DisasterType | None = Field(default=None, validate_default=True)
    occurred_on: RecordDate
    loss: Money = Decimal(0)

    @field_validator("disaster_type")
    @classmethod
    def _disaster_type_iff_disaster(
        cls, value: DisasterType | None, info: ValidationInfo
    ) -> DisasterType | None:
        kind = info.data.get("kind")
        if kind == EventKind.natural_disaster and value is None:
            raise ValueError("required for a natural disaster")
        if kind is not None and kind != EventKind.natural_disaster and value is not None:
            raise ValueError("only for a natural disaster")
        return value


class ReportCreate(StrictModel):
    client_ref: ClientRef
    period_start: RecordDate
    period_end: RecordDate
    income: Income
    insurance_payout: Money = Field(default=Decimal(0), description="理赔收入")
    spending: Spending = Field(default_factory=Spending)
    housing_grade: HousingGrade | None = Field(default=None, description="房屋安全等级 A–D; C and D are 危房")
    drinking_water_safe: bool | None = None
    food_secure: bool | None = Field(default=None, description="两不愁: food")
    clothing_secure: bool | None = Field(default=None, description="两不愁: clothing")
    events: list[EventIn] = Field(default_factory=list, max_length=20)
    supersedes: RecordId | None = Field(default=None, description="id of the report this one corrects")

    @field_validator("period_end")
    @classmethod
    def _period_at_most_12_months(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("period_start")
        if start is None:
            return value
        if value < start:
            raise ValueError("period_end must not be before period_start")
        if value >= add_months(start, 12):
            raise ValueError("a report covers at most 12 months")
        return value


class BatchReportItem(ReportCreate):
    household_id: RecordId | None = None
    household_no: HouseholdNo | None = None


class BatchReportsIn(StrictModel):
    # Items are validated one by one in the route, so that a refusal can list every item's errors,
    # from the schema and from the stored data alike; the schema here is what OpenAPI documents.
    reports: list[SkipValidation[BatchReportItem]] = Field(min_length=1, max_length=1000)
    __checked_by_items__ = frozenset({"reports"})


class IncomeOut(ReadModel):
    wages: MoneyOut
    business: MoneyOut
    property: MoneyOut
    transfer: MoneyOut
    production_cost: MoneyOut


class SpendingOut(ReadModel):
    medical: MoneyOut
    education: MoneyOut


class EventOut(ReadModel):
    kind: EventKind
    disaster_type: DisasterType | None
    occurred_on: date
    loss: MoneyOut


class IncomeBasis(ReadModel):
    """How per_capita_net_income was computed."""

    window_start: date
    window_end: date
    report_ids: list[int] = Field(description="the reports whose income fell in the 12-month window")
    covered_days: int = Field(description="days of the window the reports cover; the sum is scaled to a year")
    net_income: MoneyOut = Field(description="net income over the window, annualised")
    household_size: int = Field(description="members active at period_end")
    estimated: bool = Field(
        description="the reports cover less than the 12 months: the figure is scaled up from what they "
        "cover, and the rules say so"
    )


class ReportRead(ReadModel):
    id: int
    household_id: int
    client_ref: str
    period_start: date
    period_end: date
    income: IncomeOut
    insurance_payout: MoneyOut
    spending: SpendingOut
    housing_grade: HousingGrade | None
    drinking_water_safe: bool | None
    food_secure: bool | None
    clothing_secure: bool | None
    events: list[EventOut]
    supersedes: int | None
    superseded_by: int | None
    created_at: datetime
    per_capita_net_income: MoneyOut | None = Field(
        description="人均纯收入, annualised over the 12 months to period_end; null if nobody lives there"
    )
    income_basis: IncomeBasis
    monitoring_line: MoneyOut = Field(
        description="the policy's monitoring line (监测线) for the year of period_end, yuan a head"
    )
    below_line: bool | None = Field(
        description="per_capita_net_income is below monitoring_line; null when there is no figure"
    )


class ReportPreview(ReadModel):
    """What a report would give if sent now: nothing is stored."""

    per_capita_net_income: MoneyOut | None = Field(
        description="人均纯收入 over the 12 months to period_end, with this report counted"
    )
    monitoring_line: MoneyOut
    below_line: bool | None
    income_basis: IncomeBasis
    stored_report_id: int | None = Field(
        description="the report already stored under this client_ref with this body (a repeat), if any"
    )


class BatchReportsOut(ReadModel):
    items: list[ReportRead]
