"""The early-warning model: will the household's income be below the line within the horizon?

Training data come from the district's own history: every report whose horizon (policy
model_horizon_months) is on record is an example, its features known at its period_end, its label
whether any later report within the horizon is below that year's line.
Evaluation is temporal: the newest examples (the latest period with a known outcome) are the
hold-out; the model is fitted on periods whose outcomes were known before it, calibrated (sigmoid)
on the last of those, and compared with three baselines on the same hold-out.
"""

import hashlib
import hmac
import io
import pickle
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from app.risk import features as ft
from app.risk import panel as pn
from app.risk import rules
from app.schemas.policy import PolicyData

Array = pn.FloatArray
BUDGETS = (0.05, 0.10)
BOOTSTRAP = 200
INFLUENCE_SAMPLE = 5000
LEVEL_SCORE = {"high": 2.0, "medium": 1.0}
ARTIFACT_FORMAT = 2
MIN_CLASS_EXAMPLES = 10  # per class in each of the fitting, calibration and hold-out sets


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
    )


def matrix(columns: dict[str, Array]) -> Array:
    return np.column_stack([columns[name] for name in ft.MODEL_FEATURE_NAMES]).astype(np.float64)


@dataclass
class Split:
    fit: pn.IntArray
    calibrate: pn.IntArray
    test: pn.IntArray
    test_period: int
    train_from: int
    train_to: int


def temporal_split(data: Dataset) -> Split:
    """Hold out the newest month of reports; train on examples whose outcome was known by its end;
    calibrate on the last training month. Never a random split: the model is judged on a future it has
    not seen. (Months, not days: reports of one period need not all end on the same day.)"""
    month = pn.month_of(data.period)
    months = np.unique(month)
    if len(months) < 3:
        raise ColdStart(f"{len(months)} report months with a known outcome; at least 3 are needed")
    test = np.flatnonzero(month == months[-1])
    test_period = int(data.period[test].max())
    train = np.flatnonzero(data.label_day <= test_period)
    if not len(train):
        raise ColdStart("no example's outcome was known before the newest period: the history is too short")
    calibration_month = month[train].max()
    calibrate = train[month[train] == calibration_month]
    fit = train[month[train] < calibration_month]
    for name, rows in (("fitting", fit), ("calibration", calibrate), ("hold-out", test)):
        positives = int(data.y[rows].sum())
        if min(positives, len(rows) - positives) < MIN_CLASS_EXAMPLES:
            raise ColdStart(
                f"the {name} set has {positives} households below the line and {len(rows) - positives} "
                f"above; each needs at least {MIN_CLASS_EXAMPLES}"
            )
    return Split(
        fit, calibrate, test, test_period, int(data.period[train].min()), int(data.period[calibrate].max())
    )


def check_history(data: Dataset, policy: PolicyData) -> None:
    examples, positives = len(data.y), int(data.y.sum())
    if examples < policy.cold_start_min_examples or positives < policy.cold_start_min_positives:
        raise ColdStart(
            f"{examples} labelled household-periods ({positives} below the line); the policy asks for "
            f"{policy.cold_start_min_examples} ({policy.cold_start_min_positives} below the line)"
        )


def fit_model(data: Dataset, split: Split) -> Any:
    estimator = HistGradientBoostingClassifier(
        max_iter=120,  # prediction time grows with trees: a 1M-household run must stay within a minute
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=0,
    )
    X = data.X[split.fit].copy()
    # a feature never recorded in the district (e.g. no housing grades yet) would stop the fit:
    # train it as a constant; at scoring a missing value takes the trees' missing-value branch
    X[:, np.isnan(X).all(axis=0)] = 0.0
    estimator.fit(X, data.y[split.fit])
    calibrated = CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid")
    calibrated.fit(data.X[split.calibrate], data.y[split.calibrate])
    return calibrated


def fit_logistic(data: Dataset, split: Split) -> Any:
    train = np.concatenate([split.fit, split.calibrate])
    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    model.fit(data.X[train], data.y[train])
    return model


def probabilities(model: Any, X: Array) -> Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # feature names are positional here
        return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


# ---- metrics ---------------------------------------------------------------------------------------


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
        name: None
        if value is None
        else {
            "value": round(value, 4),
            "low": round(float(np.percentile(samples[name], 2.5)), 4) if samples[name] else None,
            "high": round(float(np.percentile(samples[name], 97.5)), 4) if samples[name] else None,
        }
        for name, value in point.items()
    }
    return {"metrics": metrics, "recall_at_10_by_township": _by_township(y, score, township, townships)}


def _by_township(
    y: pn.BoolArray, score: Array, township: pn.IntArray, townships: list[str]
) -> list[dict[str, Any]]:
    """Recall at the district's 10 % budget, per township (the same alerts, counted where they fall)."""
    k = max(1, int(np.ceil(0.10 * len(y))))
    cut = np.sort(score)[::-1][k - 1]
    above, tied = score > cut, score == cut
    tie_share = (k - above.sum()) / tied.sum() if tied.any() else 0.0
    alerted = above + tied * tie_share
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
                "recall_at_10": round(float((alerted[mine] * y[mine]).sum() / positives), 4)
                if positives
                else None,
            }
        )
    return rows


def baseline_scores(data: Dataset, rows: pn.IntArray, logistic: Any) -> dict[str, tuple[Array, bool]]:
    line_ratio = data.X[rows, ft.MODEL_FEATURE_NAMES.index("line_ratio")]
    return {
        "rules": (data.rules_score[rows], False),
        "distance_to_line": (-np.nan_to_num(line_ratio, nan=np.inf), False),
        "logistic_regression": (probabilities(logistic, data.X[rows]), True),
    }


# ---- artifacts -------------------------------------------------------------------------------------


@dataclass
class Artifact:
    estimator: Any
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
    """Each row's top factors: of the features that matter most to the model (chosen at training), those
    whose replacement by the typical household's value lowers the probability most, in words."""
    columns = list(artifact.explained)
    effects = what_if(artifact.estimator, X, base, columns, artifact.reference)
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
