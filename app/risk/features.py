"""Feature columns for the rules (rules.FEATURES) and for the early-warning model (MODEL_FEATURES).

Both are computed from a Panel (app/risk/panel.py) for a set of targets: a report row per household
(-1: the household has no report yet) and the day the features are known on. Scoring uses each
household's latest report and the run's as_of; training uses every report and its own period_end.
"""

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
from sqlalchemy.orm import Session

from app.risk import panel as pn
from app.risk import panel_read
from app.risk.rules import FEATURES, Array
from app.schemas.policy import PolicyData

IntArray = pn.IntArray


@dataclass
class Frame:
    household_ids: list[int]
    columns: dict[str, Array]
    as_of: date


def build(session: Session, policy: PolicyData, as_of: date, household_ids: list[int] | None = None) -> Frame:
    """The rules' features of every household (or the given ones) as known on `as_of`."""
    panel = panel_read.load(session, as_of=as_of, household_ids=household_ids)
    rows = latest_rows(panel)
    return Frame(
        [int(i) for i in panel.household_ids],
        rules_columns(panel, policy, rows, np.full(len(rows), as_of.toordinal())),
        as_of,
    )


def latest_rows(panel: pn.Panel) -> IntArray:
    """Per household, the row of its latest report (-1: none)."""
    rows = np.full(len(panel.household_ids), -1, dtype=np.int64)
    last = np.flatnonzero(np.append(panel.hh[1:] != panel.hh[:-1], True)) if len(panel.hh) else panel.hh
    rows[panel.hh[last]] = last  # a household's rows are consecutive, in period order
    return rows


def _at(values: Array, rows: IntArray) -> Array:
    """values[rows], NaN where a row is -1."""
    if not len(values):
        return np.full(len(rows), np.nan)
    return np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)


def _events(panel: pn.Panel, rows: IntArray, day: IntArray) -> tuple[Array, Array, Array]:
    """Each target's events: loss, kind of the largest and count, on the target's day."""
    per_row_day = np.zeros(len(panel.hh), dtype=np.int64)
    has = rows >= 0
    per_row_day[rows[has]] = day[has]
    # rows that are not targets still get a day: their own period_end (only target rows are read)
    others = np.ones(len(panel.hh), dtype=bool)
    others[rows[has]] = False
    per_row_day[others] = panel.reports["end"][others]
    loss, kind, count = pn.event_values(panel, per_row_day)
    return _at(loss, rows), _at(kind, rows), _at(count, rows)


def _households(panel: pn.Panel, rows: IntArray) -> IntArray:
    """The household index of each target; for a target without a report, its position."""
    return np.where(rows >= 0, panel.hh[np.maximum(rows, 0)] if len(panel.hh) else 0, np.arange(len(rows)))


def rules_columns(panel: pn.Panel, policy: PolicyData, rows: IntArray, day: IntArray) -> dict[str, Array]:
    """rules.FEATURES for each target. With rows from latest_rows, target i is household i."""
    d = pn.income(panel)
    loss, kind, _ = _events(panel, rows, day)
    members = pn.member_values(panel, _households(panel, rows), day)
    r = panel.reports
    prev = _at(d["prev_year"].astype(float), rows)
    prev_rows = np.where(np.isnan(prev), -1, prev).astype(np.int64)
    line = _at(pn.lines(policy, r["end"]), rows)
    known_insured, known_labour = members["known_insured"] > 0, members["known_labour"] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {
            "income_pc": _at(d["pc"], rows),
            "line": line,
            "income_pc_prev": _at(d["pc"], prev_rows),
            "size": _at(d["size"], rows),
            "income_total": _at(d["annual"], rows),
            "oop_medical": _at(d["window"]["medical"], rows),
            "oop_education": _at(d["window"]["education"], rows),
            "event_loss": np.where(rows >= 0, loss, np.nan),
            "event_kind": kind,
            "housing_unsafe": _at(r["housing_unsafe"], rows),
            "dropout_compulsory": (members["dropout_compulsory"] > 0).astype(float),
            "uninsured_member": np.where(known_insured, (members["uninsured"] > 0).astype(float), np.nan),
            "water_unsafe": _at(r["water_unsafe"], rows),
            "food_clothing_insecure": _at(r["food_clothing_insecure"], rows),
            "labour_share": np.where(known_labour, members["workers"] / members["size"], np.nan),
            "safety_net": (members["safety_net"] > 0).astype(float),
            "months_since_report": _months_since(r["end"], rows, day),
            "months_since_visit": _months_since_visit(panel, rows, day),
            "income_covered_share": _at(d["covered_share"], rows),
            "active_members": members["size"],
        }
    assert set(columns) == set(FEATURES)
    return columns


Unit = Literal["yuan", "share", "ratio", "count", "flag", "months"]


@dataclass(frozen=True)
class ModelFeature:
    name: str
    label: str  # Chinese, as a cadre reads it
    unit: Unit


MODEL_FEATURES = (
    ModelFeature("income_pc", "人均纯收入", "yuan"),
    ModelFeature("line_ratio", "人均纯收入与监测线之比", "ratio"),
    ModelFeature("latest_quarter_ratio", "最近一期收入（折年）与监测线之比", "ratio"),
    ModelFeature("change_1y", "人均纯收入较上年同期变化", "share"),
    ModelFeature("change_1q", "人均纯收入较上一期变化", "share"),
    ModelFeature("volatility", "近四期收入波动", "share"),
    ModelFeature("transfer_share", "转移性收入占比", "share"),
    ModelFeature("wage_share", "工资性收入占比", "share"),
    ModelFeature("business_share", "生产经营净收入占比", "share"),
    ModelFeature("medical_ratio", "医疗自付与收入之比", "ratio"),
    ModelFeature("education_ratio", "教育自付与收入之比", "ratio"),
    ModelFeature("event_loss_ratio", "近 12 个月突发事件损失与收入之比", "ratio"),
    ModelFeature("event_count", "近 12 个月突发事件次数", "count"),
    ModelFeature("size", "家庭人口", "count"),
    ModelFeature("dependency", "无劳动能力成员占比", "share"),
    ModelFeature("elderly", "60 岁以上成员数", "count"),
    ModelFeature("children", "16 岁以下成员数", "count"),
    ModelFeature("chronic", "慢性病成员数", "count"),
    ModelFeature("serious", "大病或残疾成员数", "count"),
    ModelFeature("housing_unsafe", "住房为危房", "flag"),
    ModelFeature("water_unsafe", "饮水不安全", "flag"),
    ModelFeature("lifted", "脱贫户", "flag"),
    ModelFeature("months_since_report", "距最近一次报告的月数", "months"),
)
MODEL_FEATURE_NAMES = tuple(f.name for f in MODEL_FEATURES)


def model_columns(panel: pn.Panel, policy: PolicyData, rows: IntArray, day: IntArray) -> dict[str, Array]:
    """MODEL_FEATURES for each target: the level, trend, volatility and make-up of its income history,
    its spending, events, members and living conditions."""
    d = pn.income(panel)
    r = panel.reports
    loss, _, count = _events(panel, rows, day)
    members = pn.member_values(panel, _households(panel, rows), day)
    window = d["window"]
    annual = _at(d["annual"], rows)
    pc = _at(d["pc"], rows)
    line = _at(pn.lines(policy, r["end"]), rows)
    size = _at(d["size"], rows)
    per_day = d["net"] / d["length"]
    prev_q, same_q = pn.lagged(panel, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        quarter_pc = per_day * 365 / np.where(d["size"] > 0, d["size"], np.nan)
        prev_year_pc = np.where(d["prev_year"] >= 0, d["pc"][np.maximum(d["prev_year"], 0)], np.nan)
        prev_pc = np.where(same_q, d["pc"][prev_q], np.nan)
        income_base = np.abs(window["total"])
        columns = {
            "income_pc": pc,
            "line_ratio": pc / line,
            "latest_quarter_ratio": _at(quarter_pc, rows) / line,
            "change_1y": _at(d["pc"] / prev_year_pc - 1, rows),
            "change_1q": _at(d["pc"] / prev_pc - 1, rows),
            "volatility": _at(_volatility(panel, per_day), rows),
            "transfer_share": _at(window["transfer"] / income_base, rows),
            "wage_share": _at(window["wages"] / income_base, rows),
            "business_share": _at(window["business"] / income_base, rows),
            "medical_ratio": _at(window["medical"], rows) / annual,
            "education_ratio": _at(window["education"], rows) / annual,
            "event_loss_ratio": loss / annual,
            "event_count": count,
            "size": size,
            # no member's labour known that day (e.g. a period before it was recorded): unknown, not "all"
            "dependency": np.where(
                members["known_labour"] > 0, 1 - members["workers"] / members["size"], np.nan
            ),
            "elderly": members["elderly"],
            "children": members["children"],
            "chronic": members["chronic"],
            "serious": members["serious"],
            "housing_unsafe": _at(r["housing_unsafe"], rows),
            "water_unsafe": _at(r["water_unsafe"], rows),
            "lifted": panel.lifted[_households(panel, rows)] if len(panel.lifted) else np.zeros(len(rows)),
            "months_since_report": _months_since(r["end"], rows, day),
        }
    for name, values in columns.items():
        columns[name] = np.where(np.isfinite(values), values, np.nan)
    return columns


def _months_since(end: IntArray, rows: IntArray, day: IntArray) -> Array:
    """Months from each target's report to the day its features are known on (NaN: no report). Measured
    to the scoring day, not between reports: a household silent for a year reads 12 on the list."""
    return np.round((day - _at(end.astype(float), rows)) / DAYS_PER_MONTH, 1)


def _months_since_visit(panel: pn.Panel, rows: IntArray, day: IntArray) -> Array:
    """Months from each target's household's last visit to the target's day (NaN: none, or after it)."""
    if panel.last_visit is None or not len(panel.last_visit):
        return np.full(len(rows), np.nan)
    months = np.round((day - panel.last_visit[_households(panel, rows)]) / DAYS_PER_MONTH, 1)
    return np.where(months >= 0, months, np.nan)  # (NaN stays NaN)


DAYS_PER_MONTH = 30.44


def _volatility(panel: pn.Panel, per_day: Array) -> Array:
    """Coefficient of variation of daily income over the report and up to three before it."""
    values = [per_day]
    for k in range(1, 4):
        j, same = pn.lagged(panel, k)
        values.append(np.where(same, per_day[j], np.nan))
    stacked = np.vstack(values)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a household with one report: no spread
        mean = np.nanmean(stacked, axis=0)
        spread = np.nanstd(stacked, axis=0)
        return np.where(np.sum(~np.isnan(stacked), axis=0) >= 2, spread / np.abs(mean), np.nan)
