"""How well a scorer ranks: recall and precision at an alert budget, ROC/PR AUC, Brier, with bootstrap
intervals; and the same recall over several rolling-origin folds, paired across scorers, so that two
scorers can be told apart with confidence or called a tie.

The budget is the share of households a district can visit: a scorer is judged by how many of those
who will fall below the line are among the top `budget` share it ranks (a period at a time)."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from app.risk import panel as pn

Array = pn.FloatArray
BUDGETS = (0.05, 0.10)
BOOTSTRAP = 200
CONFIDENCE = 0.95


def budget_hits(y: pn.BoolArray, score: Array, budget: float) -> tuple[float, int]:
    """Expected positives among the top `budget` share by score, and the alert count k.

    Ties at the cut share the remaining alerts evenly (a coarse score such as the rules' levels is
    neither favoured nor penalised by the order of ties)."""
    k = max(1, int(np.ceil(budget * len(y))))
    order = np.sort(score)[::-1]
    cut = order[k - 1]
    above = score > cut
    tied = score == cut
    hits = y[above].sum() + (k - above.sum()) * (y[tied].mean() if tied.any() else 0.0)
    return float(hits), k


def alerted(score: Array, budget: float) -> Array:
    """Each row's share of an alert at the budget (1 above the cut, a fair share of the rest at it)."""
    k = max(1, int(np.ceil(budget * len(score))))
    cut = np.sort(score)[::-1][k - 1]
    above, tied = score > cut, score == cut
    share = (k - above.sum()) / tied.sum() if tied.any() else 0.0
    return np.asarray(above + tied * share, dtype=np.float64)


def point_metrics(y: pn.BoolArray, score: Array, probabilistic: bool) -> dict[str, float | None]:
    positives = int(y.sum())
    out: dict[str, float | None] = {
        "roc_auc": float(roc_auc_score(y, score)) if 0 < positives < len(y) else None,
        "pr_auc": float(average_precision_score(y, score)) if positives else None,
        "brier": float(brier_score_loss(y, np.clip(score, 0, 1))) if probabilistic else None,
    }
    for budget in BUDGETS:
        hits, k = budget_hits(y, score, budget)
        pct = int(round(budget * 100))
        out[f"recall_at_{pct}"] = hits / positives if positives else None
        out[f"precision_at_{pct}"] = hits / k
    return out


def evaluate(
    y: pn.BoolArray,
    score: Array,
    township: pn.IntArray,
    townships: list[str],
    *,
    probabilistic: bool,
    seed: int = 0,
) -> dict[str, Any]:
    """Point metrics with 95 % bootstrap intervals (households resampled), and recall by township."""
    point = point_metrics(y, score, probabilistic)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y), len(y))
        for name, value in point_metrics(y[pick], score[pick], probabilistic).items():
            if value is not None:
                samples[name].append(value)
    metrics = {
        name: None if value is None else interval(value, samples[name]) for name, value in point.items()
    }
    return {"metrics": metrics, "recall_at_10_by_township": _by_township(y, score, township, townships)}


def interval(value: float, samples: list[float] | Array) -> dict[str, float | None]:
    tail = (1 - CONFIDENCE) / 2 * 100
    return {
        "value": round(float(value), 4),
        "low": round(float(np.percentile(samples, tail)), 4) if len(samples) else None,
        "high": round(float(np.percentile(samples, 100 - tail)), 4) if len(samples) else None,
    }


def _by_township(
    y: pn.BoolArray, score: Array, township: pn.IntArray, townships: list[str]
) -> list[dict[str, Any]]:
    """Recall at the district's 10 % budget, per township (the same alerts, counted where they fall)."""
    share = alerted(score, 0.10)
    rows = []
    for i, code in enumerate(townships):
        mine = township == i
        positives = int(y[mine].sum())
        if not mine.any():
            continue
        rows.append(
            {
                "township": code,
                "households": int(mine.sum()),
                "positives": positives,
                "recall_at_10": round(float((share[mine] * y[mine]).sum() / positives), 4)
                if positives
                else None,
            }
        )
    return rows


# ---- rolling-origin folds, paired across scorers ---------------------------------------------------


@dataclass
class FoldScores:
    """Every scorer's scores on the test rows of every fold (the rows are the same for all scorers)."""

    y: pn.BoolArray
    fold: pn.IntArray  # which fold each test row belongs to
    township: pn.IntArray
    townships: list[str]
    scores: dict[str, Array]
    # each row's household: a household's rows in different folds share a future, so the bootstrap draws
    # households (all their rows at once), not rows; None: rows are drawn within each fold
    household: pn.IntArray | None = None


def alert_shares(scores: FoldScores, budget: float) -> dict[str, Array]:
    """Per scorer, each row's alert share, the budget applied within its own fold (period)."""
    out = {}
    for name, score in scores.scores.items():
        share = np.zeros(len(score))
        for f in np.unique(scores.fold):
            rows = scores.fold == f
            share[rows] = alerted(score[rows], budget)
        out[name] = share
    return out


def compare(scores: FoldScores, budget: float, *, seed: int = 0) -> dict[str, Any]:
    """Recall at `budget` over all folds for every scorer, with intervals, and the paired bootstrap of
    every pair's difference (households resampled with all their rows, the same resample for every
    scorer).

    The alerts are fixed by the scorer's ranking within the fold; resampling reweights which of those
    households count, so one resample costs a weighted sum per scorer, not a sort."""
    shares = alert_shares(scores, budget)
    names = list(scores.scores)
    y = scores.y.astype(np.float64)
    rng = np.random.default_rng(seed)
    folds = [np.flatnonzero(scores.fold == f) for f in np.unique(scores.fold)]
    boot = np.zeros((BOOTSTRAP, len(names)))
    boot_town = np.zeros((BOOTSTRAP, len(names), len(scores.townships)))
    for b in range(BOOTSTRAP):
        weight = _resample(rng, scores, folds)
        positives = (weight * y).sum()
        town_pos = np.bincount(scores.township, weights=weight * y, minlength=len(scores.townships))
        for s, name in enumerate(names):
            hit = weight * y * shares[name]
            boot[b, s] = hit.sum() / positives if positives else np.nan
            town_hits = np.bincount(scores.township, weights=hit, minlength=len(scores.townships))
            with np.errstate(invalid="ignore", divide="ignore"):
                boot_town[b, s] = town_hits / town_pos
    point = {name: recall(y, shares[name]) for name in names}
    result: dict[str, Any] = {"budget": budget, "folds": len(folds), "scorers": {}}
    for s, name in enumerate(names):
        result["scorers"][name] = {
            "recall": interval(point[name], boot[~np.isnan(boot[:, s]), s]),
            "by_fold": [round(recall(y[rows], shares[name][rows]), 4) for rows in folds],
            "by_township": _township_intervals(scores, shares[name], boot_town[:, s, :]),
        }
    result["differences"] = {
        f"{a}-{b}": interval(point[a] - point[b], _finite(boot[:, i] - boot[:, j]))
        for i, a in enumerate(names)
        for j, b in enumerate(names)
        if i != j
    }
    return result


def _resample(rng: np.random.Generator, scores: FoldScores, folds: list[npt.NDArray[np.intp]]) -> Array:
    """One bootstrap draw as a weight per row: how many times its household (or, without households,
    the row within its fold) was drawn."""
    if scores.household is not None:
        households, index = np.unique(scores.household, return_inverse=True)
        drawn = np.bincount(rng.integers(0, len(households), len(households)), minlength=len(households))
        return drawn[index].astype(np.float64)
    weight = np.zeros(len(scores.y))
    for rows in folds:
        weight[rows] = np.bincount(rng.integers(0, len(rows), len(rows)), minlength=len(rows))
    return weight


def recall(y: Array, share: Array) -> float:
    positives = y.sum()
    return float((y * share).sum() / positives) if positives else 0.0


def _finite(values: Array) -> Array:
    return values[np.isfinite(values)]


def _township_intervals(scores: FoldScores, share: Array, boot: Array) -> list[dict[str, Any]]:
    rows = []
    y = scores.y.astype(np.float64)
    for t, code in enumerate(scores.townships):
        mine = scores.township == t
        if not mine.any():
            continue
        positives = int(y[mine].sum())
        figure = interval(recall(y[mine], share[mine]), _finite(boot[:, t])) if positives else None
        rows.append({"township": code, "examples": int(mine.sum()), "positives": positives, "recall": figure})
    return rows


def confidently_better(comparison: dict[str, Any], a: str, b: str) -> bool:
    """a beats b at the budget beyond doubt: the paired interval of a − b lies above zero."""
    low = comparison["differences"][f"{a}-{b}"]["low"]
    return low is not None and low > 0
