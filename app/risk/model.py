"""The early-warning model: will the household's income be below the line within the horizon?

Training data come from the district's own history: every report whose horizon (policy
model_horizon_months) is on record is an example, its features known at its period_end, its label
whether any later report within the horizon is below that year's line.
Which scorer is installed — the learned model or a baseline — is decided in champion.py; this
module holds the examples, the installed scorer and its artifact, and the explanations in words.
"""

import hashlib
import hmac
import io
import pickle
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn

from app.risk import features as ft
from app.risk import panel as pn
from app.risk import rules
from app.schemas.policy import PolicyData

Array = pn.FloatArray
INFLUENCE_SAMPLE = 5000
LEVEL_SCORE = {"high": 2.0, "medium": 1.0}
ARTIFACT_FORMAT = 3  # 3: the artifact holds a champion (a Scorer), which may be a baseline
LEARNED = frozenset({"logistic_regression", "model"})
LINE_RATIO = ft.MODEL_FEATURE_NAMES.index("line_ratio")


class ColdStart(Exception):
    """Too little labelled history to train; scoring stays on rules alone."""


class ArtifactInvalid(Exception):
    """A stored model failed its integrity check and must not be loaded."""


@dataclass
class Dataset:
    X: Array  # examples × MODEL_FEATURES
    y: pn.BoolArray
    period: pn.IntArray  # the day the features are known on (the report's period_end)
    label_day: pn.IntArray  # the next report's period_end
    township: pn.IntArray
    townships: list[str]
    rules_score: Array  # 2 high, 1 medium, 0 none: the rules alone, as known on `period`
    household: pn.IntArray | None = None  # each example's household (the bootstrap draws households)


def build_dataset(panel: pn.Panel, policy: PolicyData) -> Dataset:
    """One example per report whose next `model_horizon_months` are on record; positive if any report
    in that horizon is below its year's line (a household below now may recover; one above may fall)."""
    d = pn.income(panel)
    end = panel.reports["end"]
    horizon_end = pn.add_months(end, policy.model_horizon_months)
    below = d["pc"] < pn.lines(policy, end) - rules.EPS
    falls = np.zeros(len(end), dtype=bool)
    observed = np.zeros(len(end), dtype=bool)
    k = 1
    while True:
        j, same = pn.lagged(panel, -k)
        if not same.any():
            break
        within = same & (end[j] <= horizon_end)
        falls |= within & below[j]
        # the horizon is on record once a report ends within a month of its end
        observed |= same & (end[j] >= horizon_end - 31)
        k += 1
    rows = np.flatnonzero(observed & np.isfinite(d["pc"]))
    X = matrix(ft.model_columns(panel, policy, rows, end[rows]))
    rule_frame = ft.rules_columns(panel, policy, rows, end[rows])
    levels = [rules.level_of(r) for r in rules.evaluate(rule_frame, policy)]
    return Dataset(
        X=X,
        y=falls[rows],
        period=end[rows],
        label_day=horizon_end[rows],
        township=panel.township[panel.hh[rows]],
        townships=panel.townships,
        rules_score=np.array([LEVEL_SCORE.get(level or "", 0.0) for level in levels]),
        household=panel.hh[rows],
    )


def matrix(columns: dict[str, Array]) -> Array:
    return np.column_stack([columns[name] for name in ft.MODEL_FEATURE_NAMES]).astype(np.float64)


def check_history(data: Dataset, policy: PolicyData) -> None:
    """Enough history to learn from: report periods with a known outcome, and households below the line
    (a few hundred households' six annual reports are enough; the folds then say how sure we are)."""
    periods, positives = len(np.unique(pn.month_of(data.period))), int(data.y.sum())
    if periods < policy.cold_start_min_periods or positives < policy.cold_start_min_positives:
        raise ColdStart(
            f"{periods} report periods with a known outcome ({positives} examples below the line); the "
            f"policy asks for {policy.cold_start_min_periods} periods and {policy.cold_start_min_positives} "
            "below the line"
        )


def probabilities(model: Any, X: Array) -> Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # feature names are positional here
        return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def line_input(X: Array) -> Array:
    """The line ratio as the distance baseline reads it; a household without one sorts last."""
    return np.clip(np.nan_to_num(X[:, LINE_RATIO], nan=10.0), 0.0, 10.0).reshape(-1, 1)


@dataclass
class Scorer:
    """A fitted scorer as installed: its name, the estimator of a learned one, and for a baseline the
    monotone map from its ranking to a probability (so the policy's cut-offs apply to any champion)."""

    name: str  # distance_to_line | rules | logistic_regression | model
    estimator: Any = None
    level_rates: dict[float, float] = field(default_factory=dict)  # rules: positive rate per level
    line_map: Any = None  # distance_to_line: a one-feature logistic on the clipped line ratio

    @property
    def learned(self) -> bool:
        return self.name in LEARNED

    def probabilities(self, X: Array, rules_score: Array) -> Array:
        if self.learned:
            return probabilities(self.estimator, X)
        if self.name == "rules":
            levels = np.array(sorted(self.level_rates), dtype=np.float64)
            rates = np.array([self.level_rates[k] for k in levels.tolist()])
            at = np.clip(np.searchsorted(levels, rules_score), 0, len(levels) - 1)
            return np.where(levels[at] == rules_score, rates[at], rates.min())
        return probabilities(self.line_map, line_input(X))


# ---- artifacts -------------------------------------------------------------------------------------


@dataclass
class Artifact:
    scorer: Scorer  # the champion: a learned model or a baseline
    features: tuple[str, ...]
    reference: Array  # per feature: the training median, the "typical household" explanations compare to
    explained: tuple[int, ...]  # the features explanations consider (the most influential)
    horizon_months: int  # the horizon the model was trained for
    sklearn_version: str
    format: int = ARTIFACT_FORMAT  # an artifact of another layout is retrained, not read


def dump(artifact: Artifact) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(artifact, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign(data: bytes, key: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def load(data: bytes, *, sha256: str, signature: str, key: bytes) -> Artifact:
    """Unpickle only what this service stored: the hash and the keyed signature must both match."""
    if not hmac.compare_digest(digest(data), sha256) or not hmac.compare_digest(sign(data, key), signature):
        raise ArtifactInvalid("the stored model does not match its hash and signature")
    artifact = pickle.loads(data)  # noqa: S301 - verified above: written and signed by this service
    if not isinstance(artifact, Artifact):
        raise ArtifactInvalid("the stored model is not a model artifact")
    if getattr(artifact, "format", None) != ARTIFACT_FORMAT:
        raise ArtifactInvalid("the stored model was written by another version of the service: retrain")
    if tuple(artifact.features) != ft.MODEL_FEATURE_NAMES:
        # columns are fed by position: a model trained on other features would read the wrong ones
        raise ArtifactInvalid("the stored model was trained on other features than this version's: retrain")
    if artifact.sklearn_version != sklearn.__version__:
        raise ArtifactInvalid(
            f"model trained with scikit-learn {artifact.sklearn_version}, "
            f"running {sklearn.__version__}: retrain"
        )
    return artifact


# ---- explanations ----------------------------------------------------------------------------------


def what_if(estimator: Any, X: Array, base: Array, columns: list[int], reference: Array) -> Array:
    """base − the probability with each of `columns` set to its reference value (rows × columns)."""
    if not columns or not len(X):
        return np.zeros((len(X), len(columns)))
    variants = np.repeat(X[None, :, :], len(columns), axis=0)
    for k, j in enumerate(columns):
        variants[k, :, j] = reference[j]
    changed = probabilities(estimator, variants.reshape(-1, X.shape[1])).reshape(len(columns), len(X))
    return (base[None, :] - changed).T


def explain(artifact: Artifact, X: Array, base: Array, top: int = 3) -> list[list[dict[str, Any]]]:
    """Each row's top factors: of the features that matter most to a learned champion (chosen at
    training), those whose replacement by the typical household's value lowers the probability most, in
    words. The distance baseline's one factor is the line ratio; the rules' reasons already say theirs."""
    if artifact.scorer.name == "distance_to_line":
        feature = ft.MODEL_FEATURES[LINE_RATIO]
        return [[factor(feature, X[i, LINE_RATIO], float(base[i]))] for i in range(len(X))]
    if not artifact.scorer.learned:
        return [[] for _ in range(len(X))]
    columns = list(artifact.explained)
    effects = what_if(artifact.scorer.estimator, X, base, columns, artifact.reference)
    out = []
    for i in range(len(X)):
        order = np.argsort(-effects[i])[:top]
        out.append(
            [
                factor(ft.MODEL_FEATURES[columns[k]], X[i, columns[k]], float(effects[i, k]))
                for k in order
                if effects[i, k] > 0.005
            ]
        )
    return out


def most_influential(estimator: Any, X: Array, reference: Array, count: int) -> tuple[int, ...]:
    """The `count` features whose what-if changes the probability most, on average over X (a sample)."""
    if len(X) > INFLUENCE_SAMPLE:
        X = X[np.random.default_rng(0).choice(len(X), INFLUENCE_SAMPLE, replace=False)]
    base = probabilities(estimator, X)
    effects = np.abs(what_if(estimator, X, base, list(range(X.shape[1])), reference))
    return tuple(int(j) for j in np.argsort(-effects.mean(axis=0))[:count])


def factor(feature: ft.ModelFeature, value: float, effect: float) -> dict[str, Any]:
    return {
        "feature": feature.name,
        "value": None if not np.isfinite(value) else round(float(value), 4),
        "effect": round(effect, 4),
        "text": f"{feature.label} {describe(feature, value)}",
    }


def describe(feature: ft.ModelFeature, value: float) -> str:
    if not np.isfinite(value):
        return "未知"
    if feature.unit == "yuan":
        return f"{value:,.0f} 元"
    if feature.unit == "share":
        return f"{value * 100:+.0f}%" if feature.name.startswith("change") else f"{value * 100:.0f}%"
    if feature.unit == "ratio":
        return f"{value:.2f} 倍"
    if feature.unit == "flag":
        return "是" if value >= 0.5 else "否"
    if feature.unit == "months":
        return f"{value:.0f} 个月"
    return f"{value:.0f}"
