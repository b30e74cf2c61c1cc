"""Policy rules: deterministic, explainable, vectorised over every household at once.

Input is a column frame (name → numpy array, one row per household; NaN where unknown). Each rule is a
boolean mask; reasons are built only for the rows it flags. A reason names its rule, the national risk
type (or the 三保障 / 饮水 / 两不愁 flag) and the feature with its value, in words a cadre can read.
Nothing here touches the database.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

from app.schemas.policy import PolicyData

Level = Literal["high", "medium"]
Array = npt.NDArray[np.float64]

# The columns the rules read. Flags are 1.0 / 0.0 (NaN: not recorded).
FEATURES = (
    "income_pc",  # 人均纯收入, annualised, at the latest report
    "line",  # 监测线 of the latest report's year
    "income_pc_prev",  # the same, for the report of the same period a year earlier
    "size",  # members at the latest report
    "income_total",  # household net income, annualised
    "oop_medical",  # 合规自付 medical spending, 12 months
    "oop_education",  # 合规自付 education spending, 12 months
    "event_loss",  # losses from sudden events, 12 months
    "event_kind",  # kind of the largest-loss event (index into EVENT_KINDS; NaN: none)
    "housing_unsafe",  # housing grade C or D (危房)
    "dropout_compulsory",  # a compulsory-school-age member out of school
    "uninsured_member",  # an active member without basic medical insurance
    "water_unsafe",  # drinking water not safe
    "food_clothing_insecure",  # 两不愁 not met
    "labour_share",  # share of active members with ordinary or skilled labour
    "safety_net",  # 低保 or 特困 recorded for a member
    "months_since_report",  # from the latest report's period_end to the scoring day (NaN: no report)
    "months_since_visit",  # from the last visit to the scoring day (NaN: never visited)
    "income_covered_share",  # share of the 12-month window the reports cover (below 1: income estimated)
    "active_members",  # members living in the household on the scoring day
)

# Event kinds (app.models.enums.EventKind order) and the national risk type each maps to.
EVENT_KINDS = ("illness", "disability", "accident", "natural_disaster", "business_failure", "job_loss")
EVENT_RISK_TYPE = {
    "illness": "因病",
    "disability": "因残",
    "accident": "因意外事故",
    "natural_disaster": "因自然灾害",
    "business_failure": "因产业项目失败",
    "job_loss": "因务工就业不稳",
}
EVENT_LABEL = {
    "illness": "疾病",
    "disability": "致残",
    "accident": "意外事故",
    "natural_disaster": "自然灾害",
    "business_failure": "产业经营失败",
    "job_loss": "失业",
}
# Amounts are in yuan with 2 decimals: compare with half a cent of tolerance, not float exactness.
EPS = 0.005


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    risk_type: str
    level: Level
    feature: str
    value: float | None  # None where the value is not a finite number (e.g. a share of no income)
    text: str


def _finite(value: float) -> float | None:
    value = float(value)  # (numpy's scalars are many times slower in math than Python's floats)
    return value if math.isfinite(value) else None


def _yuan(value: float) -> str:
    """Whole yuan, unless the cents matter (8,699.99 must not read as 8,700)."""
    value = float(value)
    if not math.isfinite(value):
        return "— 元"
    rounded = round(value, 2)
    return f"{rounded:,.0f} 元" if rounded == round(rounded) else f"{rounded:,.2f} 元"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _f(share: Decimal) -> float:
    return float(share)


def _is(flag: Array) -> npt.NDArray[np.bool_]:
    return np.nan_to_num(flag, nan=0.0) >= 0.5


def evaluate(frame: Mapping[str, Array], policy: PolicyData) -> list[list[Reason]]:
    """Every household's reasons, in rule order (an empty list: no rule fired)."""
    n = len(frame["income_pc"])
    reasons: list[list[Reason]] = [[] for _ in range(n)]
    income, line, prev = frame["income_pc"], frame["line"], frame["income_pc_prev"]
    total, size = frame["income_total"], frame["size"]
    covered = frame["income_covered_share"]
    estimated = covered < 1 - 1e-9  # NaN (no report) is not an estimate: it is no figure at all
    with np.errstate(invalid="ignore", divide="ignore"):
        below = income < line - EPS
        # one seasonal quarter scaled to a year is not enough to open a case on: below half a year of
        # reports, a figure under the line is a medium reason (verify it), not a high one
        thin = covered < 0.5 - 1e-9
        for i in np.flatnonzero(below):
            reasons[i].append(
                Reason(
                    "income_below_line",
                    "其他",
                    "medium" if thin[i] else "high",
                    "income_pc",
                    float(income[i]),
                    f"人均纯收入 {_yuan(income[i])}{_estimate_note(covered[i]) if estimated[i] else ''}"
                    f" < 监测线 {_yuan(line[i])}",
                )
            )
        # an estimate from part of a year that only just clears the line is not a pass: say so
        near_line = line * _f(policy.near_line_margin) - EPS
        uncertain = estimated & ~below & (income < near_line)
        for i in np.flatnonzero(uncertain):
            reasons[i].append(
                Reason(
                    "income_estimated",
                    "其他",
                    "medium",
                    "income_covered_share",
                    float(covered[i]),
                    f"人均纯收入 {_yuan(income[i])}{_estimate_note(covered[i])}，"
                    f"接近监测线 {_yuan(line[i])}，需补齐报告核实",
                )
            )

        near = ~below & (income < line * _f(policy.sharp_drop_margin) - EPS)
        drop = 1 - income / prev
        sharp = near & (prev > 0) & (income <= prev * (1 - _f(policy.sharp_drop_share)) + EPS)
        for i in np.flatnonzero(sharp):
            reasons[i].append(
                Reason(
                    "sharp_income_drop",
                    "其他",
                    "medium",
                    "income_pc_drop",
                    float(drop[i]),
                    f"人均纯收入较上年同期下降 {_pct(drop[i])}（{_yuan(prev[i])} → {_yuan(income[i])}），"
                    f"接近监测线 {_yuan(line[i])}",
                )
            )

        # Rigid spending is the formula's 合规自付支出 (medical and education). An event's loss is not
        # deducted again: a lost job, a failed business or a ruined harvest already lowered the income
        # the reports give, and a payout for it counts as income; each yuan is counted once.
        medical, education = (np.nan_to_num(frame[c]) for c in ("oop_medical", "oop_education"))
        after_rigid = (total - medical - education) / size
        # "income at or above the line": an unknown income (NaN) or an empty household is not
        rigid = (income >= line - EPS) & (size > 0) & (after_rigid < line - EPS)
        for i in np.flatnonzero(rigid):
            reasons[i].append(
                Reason(
                    "rigid_spending",
                    "因病" if medical[i] >= education[i] else "因学",
                    "high",
                    "income_pc_after_rigid_spending",
                    float(after_rigid[i]),
                    f"扣除刚性支出后人均纯收入 {_yuan(after_rigid[i])} < 监测线 {_yuan(line[i])}"
                    f"（医疗自付 {_yuan(medical[i])}，教育自付 {_yuan(education[i])}）",
                )
            )

        for column, share, code, cause, name in (
            ("oop_medical", policy.medical_spending_share, "medical_spending", "因病", "医疗自付"),
            ("oop_education", policy.education_spending_share, "education_spending", "因学", "教育自付"),
        ):
            spent = np.nan_to_num(frame[column])
            ratio = spent / total
            heavy = (spent > 0) & ((total <= 0) | (spent > total * _f(share) + EPS))
            for i in np.flatnonzero(heavy):
                reasons[i].append(
                    Reason(
                        code,
                        cause,
                        "medium",
                        f"{column}_share",
                        _finite(ratio[i]) if total[i] > 0 else None,
                        f"{name} {_yuan(spent[i])}，占家庭纯收入 {_pct(ratio[i])}"
                        if total[i] > 0
                        else f"{name} {_yuan(spent[i])}，家庭纯收入不足",
                    )
                )

    for column, code, cause, text in (
        ("housing_unsafe", "housing_unsafe", "住房安全", "住房为 C/D 级危房"),
        ("dropout_compulsory", "compulsory_dropout", "义务教育", "有义务教育阶段适龄儿童辍学"),
        ("uninsured_member", "no_medical_insurance", "基本医疗", "有家庭成员未参加基本医疗保险"),
        ("water_unsafe", "water_unsafe", "饮水安全", "饮水安全未保障"),
        ("food_clothing_insecure", "food_clothing", "吃穿", "吃穿（两不愁）未保障"),
    ):
        for i in np.flatnonzero(_is(frame[column])):
            reasons[i].append(Reason(code, cause, "high", column, 1.0, text))

    labour = frame["labour_share"]
    with np.errstate(invalid="ignore"):
        # few hands are a risk where the income is near the line, not for a comfortable household
        lacking = (
            (labour <= _f(policy.labour_share_max) + 1e-9) & ~_is(frame["safety_net"]) & (income < near_line)
        )
    for i in np.flatnonzero(lacking):
        reasons[i].append(
            Reason(
                "lack_of_labour",
                "缺劳动力",
                "medium",
                "labour_share",
                float(labour[i]),
                f"有劳动能力的成员占 {_pct(labour[i])}，且未享受低保或特困供养",
            )
        )

    loss = np.nan_to_num(frame["event_loss"])
    with np.errstate(invalid="ignore", divide="ignore"):
        loss_share = loss / total
        # a heavy loss is a warning where the year's income net of it leaves the household near the line
        # (a loss the income already carries is not counted twice: this opens a medium reason, no sum)
        hard = (total <= 0) | ((total - loss) / size < near_line)
        struck = (loss > 0) & ((total <= 0) | (loss > total * _f(policy.event_loss_share) + EPS)) & hard
    for i in np.flatnonzero(struck):
        kind = _event_kind(frame["event_kind"][i])
        reasons[i].append(
            Reason(
                "sudden_event",
                EVENT_RISK_TYPE.get(kind, "其他"),
                "medium",
                "event_loss_share",
                _finite(loss_share[i]) if total[i] > 0 else None,
                f"近 12 个月{EVENT_LABEL.get(kind, '突发事件')}损失 {_yuan(loss[i])}"
                + (f"，占家庭纯收入 {_pct(loss_share[i])}" if total[i] > 0 else ""),
            )
        )

    # silence is not safety: a household nobody has reported on or visited within the policy's months is
    # a finding for the village (the stale rule of app/services/registry/visits.py, on the scoring day)
    months = frame["months_since_report"]
    visited = frame["months_since_visit"]
    limit = policy.stale_report_months + 1e-9
    with np.errstate(invalid="ignore"):
        # a household nobody lives in any more is not one to visit
        lived_in = frame["active_members"] > 0
        stale = (np.isnan(months) | (months > limit)) & (np.isnan(visited) | (visited > limit)) & lived_in
    for i in np.flatnonzero(stale):
        seen = "" if np.isnan(visited[i]) else f"，最近一次走访已过 {visited[i]:.0f} 个月"
        reasons[i].append(
            Reason(
                "stale_report",
                "其他",
                "medium",
                "months_since_report",
                _finite(months[i]),
                f"尚无收入报告{seen}，需入户走访核实"
                if np.isnan(months[i])
                else f"最近一次报告已过 {months[i]:.0f} 个月（超过 {policy.stale_report_months} 个月）"
                f"{seen}，需入户走访核实",
            )
        )
    return reasons


def _estimate_note(covered: float) -> str:
    return f"（估算：近 12 个月的报告只覆盖 {covered * 12:.0f} 个月）"


def _event_kind(code: float) -> str:
    return EVENT_KINDS[int(code)] if not np.isnan(code) and 0 <= code < len(EVENT_KINDS) else ""


def level_of(reasons: list[Reason]) -> Level | None:
    """The highest level among the reasons (None: no rule fired)."""
    if any(r.level == "high" for r in reasons):
        return "high"
    return "medium" if reasons else None
