"""The policy: every threshold the rules, the model's levels and case routing use, as versioned data.

Defaults follow ../shared/DOMAIN.md; values that could not be confirmed are marked unverified for the
district to confirm.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from app.schemas.case_actions import RiskType
from app.schemas.common import MAX_ID, FreeText, Money, ReadModel, StrictModel, Version

Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]
Psi = Annotated[Decimal, Field(gt=0, le=10, max_digits=6, decimal_places=4)]


class MonitoringLine(StrictModel):
    """监测线: annual per-capita net income, yuan, for one year."""

    year: int = Field(ge=2000, le=2100)
    amount: Money
    verified: bool = Field(description="false: a default the district has not confirmed")
    # FreeText, not FreeLine: stored versions are read back through this model, and a tab pasted into
    # a source before lines were checked must not make the policy unreadable
    source: FreeText = Field(default="", max_length=200)


# settings of earlier versions, read from stored versions and dropped (cold start is now counted in
# periods and positives, which a few hundred households' history meets)
RETIRED = frozenset({"cold_start_min_examples"})
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


SignalType = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
# 致贫/返贫风险 (DOMAIN.md): the same list a case decision takes
RISK_TYPES: tuple[str, ...] = get_args(RiskType)


class DepartmentSignalRule(StrictModel):
    """What one kind of a department's row means: the risk type it points to, the level of the case it
    opens, and, for amounts, the threshold below which the row is only kept on the household's record."""

    signal_type: SignalType
    label: str = Field(min_length=1, max_length=40, description="in Chinese, as the lists show it")
    risk_type: str = Field(min_length=1, max_length=16)
    level: Literal["high", "medium"] = "high"
    threshold: Money | None = Field(
        default=None,
        description="the household's amounts of this kind over window_months must reach this to open a case"
        " (null: every row opens one)",
    )
    threshold_lifted: Money | None = Field(
        default=None, description="the same for 脱贫户 (脱贫人口), when lower (医保: 5,000 against 20,000)"
    )
    window_months: int = Field(default=12, ge=1, le=24)
    opens_case: bool = Field(
        default=True,
        description="false: the rows are kept on the household's record only (a roster, such as 民政's "
        "低保 list, says who is already helped; it is no new risk)",
    )

    @field_validator("risk_type")
    @classmethod
    def _a_national_risk_type(cls, value: str) -> str:
        if value not in RISK_TYPES:
            raise ValueError(f"one of: {', '.join(RISK_TYPES)}")
        return value


class DepartmentPolicy(StrictModel):
    """A department (as data): its name, and the rows it sends."""

    name: str = Field(min_length=1, max_length=16, description="医保, 民政, 教育 …")
    signals: list[DepartmentSignalRule] = Field(min_length=1, max_length=30)

    def rule(self, signal_type: str) -> DepartmentSignalRule | None:
        return next((r for r in self.signals if r.signal_type == signal_type), None)


def _rule(
    signal_type: str, label: str, risk_type: str, level: Literal["high", "medium"], **amounts: Any
) -> DepartmentSignalRule:
    return DepartmentSignalRule(
        signal_type=signal_type, label=label, risk_type=risk_type, level=level, **amounts
    )


def _default_departments() -> list[DepartmentPolicy]:
    """DOMAIN.md's county examples (部门筛查预警)."""
    return [
        DepartmentPolicy(
            name="医保",
            signals=[
                _rule(
                    "medical_self_pay",
                    "住院自付",
                    "因病",
                    "high",
                    threshold=Decimal(20000),
                    threshold_lifted=Decimal(5000),
                ),
                _rule(
                    "outpatient_self_pay",
                    "门诊自付",
                    "因病",
                    "medium",
                    threshold=Decimal(500),
                    window_months=1,
                ),
            ],
        ),
        DepartmentPolicy(
            name="教育",
            signals=[
                _rule("dropout", "义务教育辍学", "因学", "high"),
                _rule("education_cost", "高中及职业教育自付", "因学", "medium", threshold=Decimal(10000)),
            ],
        ),
        DepartmentPolicy(name="应急", signals=[_rule("disaster", "受灾", "因自然灾害", "high")]),
        DepartmentPolicy(
            name="民政",
            signals=[
                _rule("dibao", "低保", "其他", "medium", opens_case=False),
                _rule("tekun", "特困供养", "缺劳动力", "medium", opens_case=False),
                _rule("orphan", "孤儿", "其他", "medium", opens_case=False),
            ],
        ),
        DepartmentPolicy(name="住建", signals=[_rule("housing_unsafe", "住房不安全", "其他", "high")]),
        DepartmentPolicy(name="水利", signals=[_rule("water_unsafe", "饮水严重受影响", "其他", "high")]),
        DepartmentPolicy(name="人社", signals=[_rule("unemployment", "失业", "因务工就业不稳", "medium")]),
        DepartmentPolicy(name="残联", signals=[_rule("disability", "新增残疾", "因残", "medium")]),
        DepartmentPolicy(name="卫健", signals=[_rule("serious_illness", "大病", "因病", "medium")]),
        DepartmentPolicy(name="公安", signals=[_rule("accident", "意外事故", "因意外事故", "medium")]),
        DepartmentPolicy(
            name="农业农村", signals=[_rule("industry_failure", "产业项目失败", "因产业项目失败", "medium")]
        ),
    ]


class DibaoStandard(StrictModel):
    """农村低保标准: yuan per person per year, for one year (suggests referrals to 民政)."""

    year: int = Field(ge=2000, le=2100)
    amount: Money
    verified: bool
    source: str = Field(default="", max_length=200)


def _default_dibao() -> list[DibaoStandard]:
    return [
        DibaoStandard(
            year=2020, amount=Decimal(4500), verified=True, source="红塔区 2021–2025 规划 (DOMAIN.md)"
        ),
        DibaoStandard(year=2021, amount=Decimal(4500), verified=False, source="2020 carried forward"),
    ]


# Defaults that are local practice or a reasonable reading of DOMAIN.md, not a published number.
UNVERIFIED_DEFAULTS = (
    "sharp_drop_margin",
    "sharp_drop_share",
    "near_line_margin",
    "medical_spending_share",
    "education_spending_share",
    "event_loss_share",
    "elimination_min_monitored_months",
    "stale_report_months",
    "departments",
    "measure_gap_days",
    "case_suppression_days",
    "alert_budget",
    "verifier_label_weight",
    "drift_watch_psi",  # the usual reading of PSI in credit scoring, not a number of the district's
    "drift_psi",
    "drift_min_households",
    "follow_up_months",
    "cluster_window_days",
    "cluster_village_signals",
    "cluster_township_signals",
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
    near_line_margin: Decimal = Field(
        default=Decimal("1.5"),
        ge=1,
        le=5,
        description="缺劳动力, a sudden event's loss and an estimated income are reasons only for a "
        "household below this multiple of the line (for an event: its income net of the loss); one "
        "comfortably above it is not asked about on those grounds alone",
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
    cold_start_min_periods: int = Field(
        default=4,
        ge=3,
        le=120,
        description="report periods with a known outcome needed before any scorer is trained",
    )
    cold_start_min_positives: int = Field(
        default=50, ge=10, le=MAX_ID, description="…and examples of households below the line among them"
    )
    verifier_label_weight: Decimal = Field(
        default=Decimal("1"),
        ge=0,
        le=20,
        max_digits=6,
        decimal_places=3,
        description="how much one verifier decision (confirmed or rejected) weighs in training against one "
        "household-period's income outcome (0: decisions are only judged on, not learned from)",
    )
    alert_budget: Share = Field(
        default=Decimal("0.10"),
        ge=Decimal("0.01"),
        le=Decimal("0.50"),
        description="the share of households the district can verify at a time: scorers are judged by the "
        "share of those who fall below the line that they find within it",
    )
    drift_watch_psi: Psi = Field(
        default=Decimal("0.10"),
        description="a feature whose population stability index against the model's training window "
        "exceeds this is marked for watching on the drift report",
    )
    drift_psi: Psi = Field(
        default=Decimal("0.20"),
        description="…and above this it is flagged as drifted: the households scored no longer look "
        "like those the model learned from",
    )
    drift_min_households: int = Field(
        default=200,
        ge=1,
        le=MAX_ID,
        description="a township (or a district) with fewer households on either side has its drift figures "
        "shown but not flagged: among a few dozen households the index is mostly chance",
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
    follow_up_months: list[Annotated[int, Field(ge=1, le=36)]] = Field(
        default_factory=lambda: [3, 6],
        min_length=1,
        max_length=6,
        description="回头看: months after a risk elimination at which the household is visited again (each a "
        "task, due that day; a visit from a month before completes it)",
    )
    cluster_window_days: int = Field(
        default=7, ge=1, le=60, description="a cluster alert counts new signals within this many days"
    )
    cluster_village_signals: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="this many households of one village with a new signal within the window raise an alert",
    )
    cluster_township_signals: int = Field(
        default=15,
        ge=2,
        le=10000,
        description="this many households of one township with a new signal within the window raise an alert",
    )
    public_notice_names: Literal["full", "masked"] = Field(
        default="full",
        description="how the public notice (公示) writes each household head's name: in full, as the "
        "procedure posts it, or masked (张*明) where the county decides so; nothing else personal is printed",
    )
    # plain text, not FreeText: an office's phone is public on the notice, not a person's to be masked
    public_notice_contact: str = Field(
        default="",
        max_length=100,
        description="where objections to a public notice go besides the village committee and the township "
        "(e.g. the county office's supervision phone), printed on the notice",
    )
    open_cases_for_medium: bool = Field(
        default=False, description="a scoring run's medium flags open cases too (high flags always do)"
    )
    departments: list[DepartmentPolicy] = Field(
        default_factory=_default_departments,
        max_length=40,
        description="the departments that send signals, what each row means and the thresholds",
    )
    dibao_standards: list[DibaoStandard] = Field(default_factory=_default_dibao, min_length=1)
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

    @model_validator(mode="before")
    @classmethod
    def _without_retired_settings(cls, data: Any) -> Any:
        """Stored versions may hold settings this version no longer has; they are read without them (a
        change sent today that names one is still refused)."""
        if cls is not PolicyData or not isinstance(data, dict) or not RETIRED.intersection(data):
            return data
        kept = {k: v for k, v in data.items() if k not in RETIRED}
        if isinstance(kept.get("unverified"), list):
            kept["unverified"] = [name for name in kept["unverified"] if name not in RETIRED]
        return kept

    @model_validator(mode="after")
    def _cut_offs_ordered(self) -> "PolicyData":
        if self.medium_probability >= self.high_probability:
            raise ValueError("medium_probability must be below high_probability")
        if self.drift_watch_psi >= self.drift_psi:
            raise ValueError("drift_watch_psi must be below drift_psi")
        return self

    @field_validator("departments")
    @classmethod
    def _one_entry_per_department(cls, departments: list[DepartmentPolicy]) -> list[DepartmentPolicy]:
        names = [d.name for d in departments]
        if len(set(names)) != len(names):
            raise ValueError("each department once")
        return departments

    def department(self, name: str) -> DepartmentPolicy | None:
        return next((d for d in self.departments if d.name == name), None)

    def dibao_for(self, year: int) -> Decimal:
        """The 低保 standard of `year` (a later year carries the last one forward)."""
        known = sorted((s for s in self.dibao_standards if s.year <= year), key=lambda s: s.year)
        return (known[-1] if known else min(self.dibao_standards, key=lambda s: s.year)).amount

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
