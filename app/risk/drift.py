"""Population stability of the model's inputs and scores: binned profiles and PSI between two of them.

A profile counts households per bin of each feature (features.MODEL_FEATURES) and of the score, per
township, with missing values in a bin of their own. The bins are cut once, from a reference sample
(the training window, or the first scoring run when no training ever ran); every later profile is
counted on the reference's cuts, so two profiles compare bin by bin. Profiles add up: a run counts its
chunks one at a time and sums them, so memory stays bounded whatever the district's size.

PSI = Σ (new − ref) · ln(new / ref) over the bins' shares (a share of 0 is floored at PSI_FLOOR). The
usual reading: below 0.1 stable, 0.1–0.2 watch, above 0.2 the population has moved (thresholds are
policy). A township is compared with its own reference too: incomes halved in one township out of ten
barely move the district's figure.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from app.risk.features import MODEL_FEATURE_NAMES, MODEL_FEATURES
from app.risk.panel import FloatArray, IntArray

SCORE = "score"
UNITS = {f.name: f.unit for f in MODEL_FEATURES}
QUANTILES = np.linspace(0.1, 0.9, 9)  # deciles: ten bins of the reference's known values
MAX_VALUES = 12  # a count with at most this many distinct values is binned by value
DEFAULT_SCORE_CUTS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7)  # when the reference has no scores to cut by
PSI_FLOOR = 1e-4

# Training measures each example on its report's own end, so a report's age is 0 there: against a training
# window it is not compared (it is against a run's). Known gap: the model does not learn from staleness.
UNMEASURED_IN_TRAINING = frozenset({"months_since_report"})
Status = Literal["stable", "watch", "drift", "too_few", "not_comparable"]
SEVERITY: dict[Status, int] = {"not_comparable": 0, "too_few": 0, "stable": 1, "watch": 2, "drift": 3}


# ---- bins --------------------------------------------------------------------------------------------


def cuts_of(values: FloatArray, unit: str) -> FloatArray:
    """The cut points of one variable from its reference values (NaN: missing, binned apart).

    A value v falls in bin i where cuts[i-1] < v <= cuts[i]: flags split at 0.5; a count with few
    distinct values gets one bin per value (cut half-way between neighbours); anything else is cut at
    the deciles of its known values (ties merged, so a mostly-zero feature gets fewer bins)."""
    known = values[~np.isnan(values)]
    if unit == "flag":
        return np.array([0.5])
    if not len(known):
        return np.zeros(0)
    distinct = np.unique(known)
    if unit == "count" and len(distinct) <= MAX_VALUES:
        return (distinct[:-1] + distinct[1:]) / 2
    return np.unique(np.quantile(known, QUANTILES))


def score_cuts(scores: FloatArray | None) -> FloatArray:
    """Deciles of the reference's scores; fixed cuts when it has none (a run on rules alone)."""
    known = np.zeros(0) if scores is None else scores[~np.isnan(scores)]
    if not len(known):
        return np.array(DEFAULT_SCORE_CUTS)
    return np.unique(np.quantile(known, QUANTILES))


def reference_cuts(
    X: FloatArray, scores: FloatArray | None, names: Sequence[str] = MODEL_FEATURE_NAMES
) -> dict[str, FloatArray]:
    """Cuts for every column of X (named `names`, in order) and for the score."""
    cuts = {name: cuts_of(X[:, j], UNITS.get(name, "share")) for j, name in enumerate(names)}
    cuts[SCORE] = score_cuts(scores)
    return cuts


def bin_of(values: FloatArray, cuts: FloatArray) -> IntArray:
    """Each value's bin: 0 … len(cuts) by the cuts, len(cuts) + 1 for a missing value."""
    binned = np.searchsorted(cuts, values, side="left")
    return np.where(np.isnan(values), len(cuts) + 1, binned).astype(np.int64)


# ---- profiles ----------------------------------------------------------------------------------------


@dataclass
class Profile:
    """Counts per township and bin of each variable (the features, then SCORE), on fixed cuts."""

    cuts: dict[str, FloatArray]
    townships: list[str]  # township codes
    counts: dict[str, IntArray]  # variable -> townships × (len(cuts) + 2): the bins, then missing

    @property
    def variables(self) -> list[str]:
        return list(self.cuts)

    def households(self) -> IntArray:
        """Households profiled, per township."""
        first = next(iter(self.counts.values()))
        return first.sum(axis=1)  # type: ignore[no-any-return]

    def __add__(self, other: "Profile") -> "Profile":
        """Both profiles' counts, township by township (the cuts must be the same)."""
        if self.variables != other.variables or any(
            not np.array_equal(self.cuts[v], other.cuts[v]) for v in self.cuts
        ):
            raise ValueError("profiles on different cuts do not add up")
        townships = sorted(set(self.townships) | set(other.townships))
        position = {code: i for i, code in enumerate(townships)}
        counts = {}
        for name in self.variables:
            total = np.zeros((len(townships), len(self.cuts[name]) + 2), dtype=np.int64)
            for part in (self, other):
                total[[position[code] for code in part.townships]] += part.counts[name]
            counts[name] = total
        return Profile(self.cuts, townships, counts)


def empty(cuts: dict[str, FloatArray]) -> Profile:
    return Profile(cuts, [], {name: np.zeros((0, len(c) + 2), dtype=np.int64) for name, c in cuts.items()})


def profile(
    cuts: dict[str, FloatArray],
    X: FloatArray,
    township: IntArray,
    townships: Sequence[str],
    scores: FloatArray | None,
    names: Sequence[str] = MODEL_FEATURE_NAMES,
) -> Profile:
    """The profile of one sample: rows of X (columns `names`), each row's township (an index into
    `townships`, the codes) and score (None or NaN: not scored)."""
    if scores is None:
        scores = np.full(len(X), np.nan)
    columns = {name: X[:, j] for j, name in enumerate(names)} | {SCORE: scores}
    if set(columns) != set(cuts):
        raise ValueError("the sample's variables are not the cuts' variables")
    used, local = np.unique(township, return_inverse=True)
    counts = {}
    for name, c in cuts.items():
        width = len(c) + 2
        flat = local * width + bin_of(columns[name], c)
        counts[name] = np.bincount(flat, minlength=len(used) * width).reshape(len(used), width)
    return Profile(cuts, [townships[i] for i in used.tolist()], counts)


def to_json(p: Profile) -> dict[str, Any]:
    return {
        "variables": p.variables,
        "cuts": {name: [float(v) for v in c] for name, c in p.cuts.items()},
        "townships": p.townships,
        "counts": {name: c.tolist() for name, c in p.counts.items()},
    }


def from_json(data: dict[str, Any]) -> Profile:
    cuts = {name: np.array(data["cuts"][name], dtype=np.float64) for name in data["variables"]}
    counts = {
        name: np.array(data["counts"][name], dtype=np.int64).reshape(len(data["townships"]), len(c) + 2)
        for name, c in cuts.items()
    }
    return Profile(cuts, list(data["townships"]), counts)


# ---- PSI and the report ------------------------------------------------------------------------------


def psi(reference: IntArray, new: IntArray) -> float:
    """Population stability index of two count vectors over the same bins."""
    p = np.maximum(reference / max(int(reference.sum()), 1), PSI_FLOOR)
    q = np.maximum(new / max(int(new.sum()), 1), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


@dataclass(frozen=True)
class Thresholds:
    watch: float
    drift: float
    min_households: int


@dataclass
class VariableDrift:
    name: str
    psi: float | None  # None: not comparable (a side without any value)
    status: Status
    missing_share: float | None
    reference_missing_share: float | None


@dataclass
class ScopeDrift:
    """The district (township None) or one township."""

    township: str | None
    households: int
    reference_households: int
    enough: bool  # both sides have min_households: flags are raised only then
    features: list[VariableDrift]
    score: VariableDrift

    @property
    def drifted(self) -> list[str]:
        return [v.name for v in (*self.features, self.score) if v.status == "drift"]

    @property
    def status(self) -> Status:
        if not self.enough:
            return "too_few"
        worst = max((*self.features, self.score), key=lambda v: SEVERITY[v.status])
        return worst.status if SEVERITY[worst.status] else "stable"


@dataclass
class Report:
    thresholds: Thresholds
    district: ScopeDrift
    townships: list[ScopeDrift]


def _share_missing(counts: IntArray) -> float | None:
    total = int(counts.sum())
    return round(float(counts[-1]) / total, 4) if total else None


def _compare(
    name: str, reference: IntArray, new: IntArray, thresholds: Thresholds, enough: bool, measured: bool
) -> VariableDrift:
    missing, reference_missing = _share_missing(new), _share_missing(reference)
    if not measured:
        return VariableDrift(name, None, "not_comparable", missing, reference_missing)
    # a score compares only when both sides were scored (a run on rules alone has no scores)
    comparable = reference.sum() > 0 and new.sum() > 0
    if name == SCORE:
        comparable = comparable and reference_missing != 1.0 and missing != 1.0
    if not comparable:
        return VariableDrift(name, None, "not_comparable", missing, reference_missing)
    # values are compared among the known ones; fewer unknowns than in training (a young district's
    # first reports had no history to compare with) is no drift, more unknowns is (data going missing)
    known = reference[:-1].sum() > 0 and new[:-1].sum() > 0
    value = round(psi(reference[:-1], new[:-1]), 4) if known else 0.0
    more_missing = (missing or 0.0) - (reference_missing or 0.0)
    status: Status
    if not enough:
        status = "too_few"
    elif value > thresholds.drift or more_missing > thresholds.drift:
        status = "drift"
    elif value > thresholds.watch or more_missing > thresholds.watch:
        status = "watch"
    else:
        status = "stable"
    return VariableDrift(name, value, status, missing, reference_missing)


def _scope(
    township: str | None,
    reference: dict[str, IntArray],
    new: dict[str, IntArray],
    names: list[str],
    thresholds: Thresholds,
    unmeasured: frozenset[str],
) -> ScopeDrift:
    households = int(new[names[0]].sum())
    reference_households = int(reference[names[0]].sum())
    enough = min(households, reference_households) >= thresholds.min_households
    compared = [
        _compare(name, reference[name], new[name], thresholds, enough, name not in unmeasured)
        for name in names
    ]
    features = [v for v in compared if v.name != SCORE]
    [score] = [v for v in compared if v.name == SCORE]
    return ScopeDrift(township, households, reference_households, enough, features, score)


def report(
    reference: Profile, run: Profile, thresholds: Thresholds, unmeasured: frozenset[str] = frozenset()
) -> Report:
    """PSI of every variable, district-wide and per township (every township of either profile);
    `unmeasured`: variables the reference could not measure, shown but never compared."""
    if reference.variables != run.variables or any(
        not np.array_equal(reference.cuts[v], run.cuts[v]) for v in run.cuts
    ):
        raise ValueError("the run was not profiled on the reference's cuts")
    names = run.variables

    def rows(p: Profile, code: str) -> dict[str, IntArray]:
        if code in p.townships:
            i = p.townships.index(code)
            return {name: p.counts[name][i] for name in names}
        return {name: np.zeros(len(p.cuts[name]) + 2, dtype=np.int64) for name in names}

    district = _scope(
        None,
        {name: reference.counts[name].sum(axis=0) for name in names},
        {name: run.counts[name].sum(axis=0) for name in names},
        names,
        thresholds,
        unmeasured,
    )
    townships = [
        _scope(code, rows(reference, code), rows(run, code), names, thresholds, unmeasured)
        for code in sorted(set(reference.townships) | set(run.townships))
    ]
    return Report(thresholds, district, townships)
