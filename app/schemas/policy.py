"""The policy: every threshold the rules, the model's levels and case routing use, as versioned data.

Defaults follow ../shared/DOMAIN.md; values that could not be confirmed are marked unverified for the
district to confirm.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from app.schemas.common import MAX_ID, FreeText, Money, ReadModel, StrictModel, Version

Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]


class MonitoringLine(StrictModel):
    """监测线: annual per-capita net income, yuan, for one year."""

    year: int = Field(ge=2000, le=2100)
    amount: Money
    verified: bool = Field(description="false: a default the district has not confirmed")
    # FreeText, not FreeLine: stored versions are read back through this model, and a tab pasted into
    # a source before lines were checked must not make the policy unreadable
    source: FreeText = Field(default="", max_length=200)


LEGACY_DEADLINES = frozenset(
    {"home_verification", "democratic_review", "public_notice", "township_review", "county_approval"}
)


class CaseDeadlines(StrictModel):
    """Calendar days each level has for a case: the village's verification, review and public notice
    together, then the township's review, then the district's decision — 15 days from the first signal
    to the decision by default."""

    village: int = Field(default=10, ge=1, le=60, description="入户核实 + 民主评议 + 公示, together")
    public_notice: int = Field(default=5, ge=1, le=60, description="公示 runs at least this many days")
    township: int = Field(default=3, ge=1, le=60, description="乡镇审核")
    district: int = Field(default=2, ge=1, le=60, description="县级审定")

    @model_validator(mode="before")
    @classmethod
    def _from_per_step_days(cls, data: Any) -> Any:
        """Policy versions stored before the levels had windows gave days per step: read them as the
        sums they added up to, so old versions stay readable."""
        legacy = isinstance(data, dict) and LEGACY_DEADLINES <= data.keys()
        if legacy and all(isinstance(data[key], int) for key in LEGACY_DEADLINES):
            return {
                "village": data["home_verification"] + data["democratic_review"] + data["public_notice"],
                "public_notice": data["public_notice"],
                "township": data["township_review"],
                "district": data["county_approval"],
            }
        return data

    @model_validator(mode="after")
    def _notice_fits(self) -> "CaseDeadlines":
        if self.public_notice >= self.village:
            raise ValueError("the public notice must fit inside the village's days, with time to verify")
        return self

    @property
    def total(self) -> int:
        """Days from the first signal to the district's decision."""
        return self.village + self.township + self.district


# Defaults that are local practice or a reasonable reading of DOMAIN.md, not a published number.
UNVERIFIED_DEFAULTS = (
    "sharp_drop_margin",
    "sharp_drop_share",
    "medical_spending_share",
    "education_spending_share",
    "event_loss_share",
    "elimination_min_monitored_months",
    "stale_report_months",
    "measure_gap_days",
    "case_suppression_days",
)


def _default_lines() -> list[MonitoringLine]:
    return [
        MonitoringLine(year=2021, amount=Decimal(6000), verified=True, source="national floor (DOMAIN.md)"),
        MonitoringLine(year=2022, amount=Decimal(7000), verified=False, source="interpolated default"),
        MonitoringLine(year=2023, amount=Decimal(8050), verified=True, source="Yunnan 2023"),
        MonitoringLine(year=2024, amount=Decimal(8400), verified=False, source="interpolated default"),
        MonitoringLine(year=2025, amount=Decimal(8700), verified=True, source="云农办通〔2025〕1号"),
        MonitoringLine(year=2026, amount=Decimal(8700), verified=False, source="2025 carried forward"),
    ]


class PolicyData(StrictModel):
    monitoring_lines: list[MonitoringLine] = Field(default_factory=_default_lines, min_length=1)
    sharp_drop_margin: Decimal = Field(
        default=Decimal("1.5"),
        ge=1,
        le=5,
        description="sharp-drop rule applies below this multiple of the line",
    )
    sharp_drop_share: Share = Field(
        default=Decimal("0.30"), description="drop against the same period a year earlier"
    )
    medical_spending_share: Share = Field(
        default=Decimal("0.30"), description="medical self-pay above this share of income"
    )
    education_spending_share: Share = Field(
        default=Decimal("0.30"), description="education self-pay above this share"
    )
    labour_share_max: Share = Field(
        default=Decimal("0.25"), description="缺劳动力: at most this share can work"
    )
    event_loss_share: Share = Field(
        default=Decimal("0.30"), description="event loss above this share of annual income"
    )
    high_probability: Share = Field(default=Decimal("0.50"), description="model probability for level high")
    medium_probability: Share = Field(
        default=Decimal("0.20"), description="model probability for level medium"
    )
    model_horizon_months: int = Field(
        default=12,
        ge=3,
        le=24,
        description="the model warns of a fall below the line at any report within this many months",
    )
    cold_start_min_examples: int = Field(
        default=5000,
        ge=100,
        le=MAX_ID,
        description="labelled household-periods needed before the model is trained",
    )
    cold_start_min_positives: int = Field(
        default=50, ge=10, le=MAX_ID, description="…of which below the line"
    )
    case_deadlines: CaseDeadlines = Field(default_factory=CaseDeadlines)
    case_suppression_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="after a rejection, same-level signals open no case for this long",
    )
    measure_gap_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="缺什么补什么: warn when a confirmed risk type has no measure this long",
    )
    elimination_months: int = Field(
        default=6, ge=1, le=24, description="income above the line this long before risk elimination"
    )
    stale_report_months: int = Field(
        default=6,
        ge=1,
        le=24,
        description="a household with no report for this long is itself a finding: at least medium risk, on "
        "the weekly list and the village's list of households to visit",
    )
    elimination_min_monitored_months: int = Field(
        default=6,
        ge=0,
        le=36,
        description="a household is monitored at least this long before its risk may be eliminated",
    )
    open_cases_for_medium: bool = Field(
        default=False, description="a scoring run's medium flags open cases too (high flags always do)"
    )
    unverified: list[str] = Field(
        default_factory=lambda: list(UNVERIFIED_DEFAULTS),
        description="settings whose values are defaults the district has not confirmed (monitoring lines "
        "carry their own flag); remove a name once the district confirms its value",
    )

    @field_validator("monitoring_lines")
    @classmethod
    def _one_line_per_year(cls, lines: list[MonitoringLine]) -> list[MonitoringLine]:
        years = [line.year for line in lines]
        if len(set(years)) != len(years):
            raise ValueError("one monitoring line per year")
        return sorted(lines, key=lambda line: line.year)

    @field_validator("unverified")
    @classmethod
    def _names_of_settings(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(cls.model_fields))
        if unknown:
            raise ValueError(f"not settings of the policy: {', '.join(unknown)}")
        return sorted(set(names))

    @model_validator(mode="after")
    def _cut_offs_ordered(self) -> "PolicyData":
        if self.medium_probability >= self.high_probability:
            raise ValueError("medium_probability must be below high_probability")
        return self

    def line_for(self, year: int) -> Decimal:
        """The line of `year`; a year past the last configured one carries the last line forward."""
        known = [line for line in self.monitoring_lines if line.year <= year]
        return (known[-1] if known else self.monitoring_lines[0]).amount


class PolicyUpdate(PolicyData):
    version: Version | None = Field(default=None, description="the version you read (or If-Match)")
    note: FreeText = Field(default="", max_length=200, description="why the policy changed")


class PolicyRead(ReadModel):
    version: int
    created_at: datetime
    created_by: str
    note: str
    data: PolicyData
