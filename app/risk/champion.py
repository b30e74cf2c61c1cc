"""The champion: of the learned model and the baselines, the scorer that finds the most households who
will fall below the line within the district's alert budget — judged on rolling-origin folds, ties
going to the simpler one.

A learned scorer must earn its place: it becomes champion only if no simpler scorer is as good within
the folds' intervals. A district whose history is too thin for that runs on the best baseline, and
says so. Every scorer, baseline or learned, gives a probability (the baselines through a monotone map
fitted on the training rows), so scoring applies the policy's cut-offs the same way whichever wins."""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from app.risk import evaluation as ev
from app.risk import features as ft
from app.risk import panel as pn
from app.risk import verified as vf
from app.risk.model import LEARNED, LINE_RATIO, ColdStart, Dataset, Scorer, line_input, probabilities

Array = pn.FloatArray
# simplest first: a tie goes to the one earlier here
SIMPLICITY = ("distance_to_line", "rules", "logistic_regression", "model")
LABELS = {
    "distance_to_line": "离监测线距离",
    "rules": "政策规则",
    "logistic_regression": "逻辑回归",
    "model": "预警模型",
}
MAX_FOLDS = 3
MIN_CLASS_EXAMPLES = 10  # per class in each of the fitting, calibration and test sets of a fold
SMALL_DATA = 20_000  # fitting examples below which the model is a shallow, monotone one
# more income never raises the risk: the small model is held to it, so a few odd households cannot
# teach it otherwise
MONOTONE_DOWN = ("income_pc", "line_ratio", "latest_quarter_ratio")


@dataclass
class Fold:
    fit: pn.IntArray
    calibrate: pn.IntArray
    test: pn.IntArray
    test_period: int  # the newest period_end of the test month

    @property
    def train(self) -> pn.IntArray:
        return np.concatenate([self.fit, self.calibrate])


def folds(data: Dataset, count: int = MAX_FOLDS) -> list[Fold]:
    """Rolling origin: the test month is each of the newest `count` report months in turn; a fold trains
    on the examples whose outcome was known by the end of its test month, calibrates on the last of
    their months and fits on the earlier ones. Never a random split: each fold is judged on a future it
    has not seen. Oldest fold first. A fold too thin to fit and judge (fewer than MIN_CLASS_EXAMPLES of
    either class in a set) ends the search backwards."""
    month = pn.month_of(data.period)
    months = np.unique(month)
    if len(months) < 3:
        raise ColdStart(f"{len(months)} report months with a known outcome; at least 3 are needed")
    out: list[Fold] = []
    refusal = ""
    for test_month in months[::-1][:count]:
        test = np.flatnonzero(month == test_month)
        test_period = int(data.period[test].max())
        train = np.flatnonzero(data.label_day <= test_period)
        if not len(train):
            refusal = "no example's outcome was known before the test month: the history is too short"
            break
        calibration_month = month[train].max()
        fold = Fold(
            fit=train[month[train] < calibration_month],
            calibrate=train[month[train] == calibration_month],
            test=test,
            test_period=test_period,
        )
        refusal = _too_thin(data, fold)
        if refusal:
            break
        out.append(fold)
    if not out:
        raise ColdStart(refusal)
    return out[::-1]


def _too_thin(data: Dataset, fold: Fold) -> str:
    for name, rows in (("fitting", fold.fit), ("calibration", fold.calibrate), ("test", fold.test)):
        positives = int(data.y[rows].sum())
        if min(positives, len(rows) - positives) < MIN_CLASS_EXAMPLES:
            return (
                f"the {name} set has {positives} households below the line and {len(rows) - positives} "
                f"above; each needs at least {MIN_CLASS_EXAMPLES}"
            )
    return ""


def capacity(fold: Fold) -> str:
    """ "small" for a few hundred households' history, "large" beyond: the model's size follows the data."""
    return "small" if len(fold.fit) < SMALL_DATA else "large"


Extra = tuple[Array, pn.BoolArray, Array] | None  # verifier decisions as extra rows: X, y, weight


def fit_model(data: Dataset, fold: Fold, size: str, extra: Extra = None) -> Any:
    """Gradient-boosted trees, calibrated (sigmoid) on the fold's last training month. Small data get
    shallow trees held monotone in income."""
    if size == "small":
        estimator = HistGradientBoostingClassifier(
            max_iter=60,
            learning_rate=0.1,
            max_depth=2,
            min_samples_leaf=20,
            l2_regularization=1.0,
            monotonic_cst=[-1 if name in MONOTONE_DOWN else 0 for name in ft.MODEL_FEATURE_NAMES],
            early_stopping=False,
            random_state=0,
        )
    else:
        estimator = HistGradientBoostingClassifier(
            max_iter=120,  # prediction time grows with trees: a 1M-household run must stay within a minute
            learning_rate=0.08,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=0,
        )
    X, y, weight = _with_extra(data.X[fold.fit], data.y[fold.fit], extra)
    # a feature never recorded in the district (e.g. no housing grades yet) would stop the fit:
    # train it as a constant; at scoring a missing value takes the trees' missing-value branch
    X[:, np.isnan(X).all(axis=0)] = 0.0
    estimator.fit(X, y, sample_weight=weight)
    calibrated = CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid")
    calibrated.fit(data.X[fold.calibrate], data.y[fold.calibrate])
    return calibrated


def _with_extra(X: Array, y: pn.BoolArray, extra: Extra) -> tuple[Array, pn.BoolArray, Array]:
    if extra is None:
        return X.copy(), y, np.ones(len(y))
    return (
        np.vstack([X, extra[0]]),
        np.concatenate([y, extra[1]]),
        np.concatenate([np.ones(len(y)), extra[2]]),
    )


def fit_logistic(data: Dataset, fold: Fold, extra: Extra = None) -> Any:
    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    X, y, weight = _with_extra(data.X[fold.train], data.y[fold.train], extra)
    model.fit(X, y, logisticregression__sample_weight=weight)
    return model


def ranking(name: str, estimator: Any, X: Array, rules_score: Array) -> Array:
    """The score a scorer ranks households by (higher: more at risk)."""
    if name == "distance_to_line":
        return -np.nan_to_num(X[:, LINE_RATIO], nan=np.inf)
    if name == "rules":
        return rules_score
    return probabilities(estimator, X)


def fit_scorer(name: str, data: Dataset, fold: Fold, size: str) -> Scorer:
    """The scorer `name` fitted on a fold's training examples (the newest fold's, for installing)."""
    if name == "model":
        return Scorer(name, estimator=fit_model(data, fold, size))
    if name == "logistic_regression":
        return Scorer(name, estimator=fit_logistic(data, fold))
    train = fold.train
    y = data.y[train]
    if name == "rules":
        levels = data.rules_score[train]
        # (positives + 1) / (examples + 2): a level seen rarely does not claim certainty
        rates = {
            float(level): float((y[levels == level].sum() + 1) / ((levels == level).sum() + 2))
            for level in np.unique(levels)
        }
        return Scorer(name, level_rates=rates)
    line_map = LogisticRegression(max_iter=1000).fit(line_input(data.X[train]), y)
    return Scorer(name, line_map=line_map)


@dataclass
class Contest:
    """Every scorer's fold scores, their comparison, and the champion with the reason in words."""

    scores: ev.FoldScores
    comparison: dict[str, Any]
    champion: str
    why: str
    size: str
    folds: list[Fold]
    verifiers: dict[str, Any]  # every scorer judged on the verifiers' decisions no fit has seen


def contest(
    data: Dataset, budget: float, fold_list: list[Fold], verified: vf.Verified | None = None
) -> Contest:
    """Fit the learned scorers on each fold (with the verifiers' decisions taken by its test period),
    score every fold's test rows with every scorer, compare; then judge every scorer on the decisions
    taken after the newest fold."""
    verified = verified if verified is not None else vf.none()
    size = capacity(fold_list[-1])
    parts: dict[str, list[Array]] = {name: [] for name in SIMPLICITY}
    fitted: dict[str, Any] = {}
    for fold in fold_list:
        X, rules_score = data.X[fold.test], data.rules_score[fold.test]
        extra = verified.known_by(fold.test_period)
        fitted = {
            "model": fit_model(data, fold, size, extra),
            "logistic_regression": fit_logistic(data, fold, extra),
        }
        for name in SIMPLICITY:
            parts[name].append(ranking(name, fitted.get(name), X, rules_score))
    test = np.concatenate([f.test for f in fold_list])
    scores = ev.FoldScores(
        y=data.y[test],
        fold=np.concatenate([np.full(len(f.test), k) for k, f in enumerate(fold_list)]),
        township=data.township[test],
        townships=data.townships,
        scores={name: np.concatenate(parts[name]) for name in SIMPLICITY},
        household=data.household[test] if data.household is not None else None,
    )
    comparison = ev.compare(scores, budget)
    champion, why = choose(comparison)
    newest = fold_list[-1].test_period
    X_held, rules_held = vf.held_out(verified, newest)
    judged = (
        vf.judge(
            verified,
            newest,
            {name: ranking(name, fitted.get(name), X_held, rules_held) for name in SIMPLICITY},
        )
        if len(X_held)
        else vf.judge(verified, newest, {})
    )
    return Contest(scores, comparison, champion, why, size, fold_list, judged)


def final_fold(data: Dataset) -> Fold:
    """Every example whose outcome is known: fitted on all its months but the last, calibrated on the
    last. The installed champion learns from the newest labelled periods the folds could only test on."""
    month = pn.month_of(data.period)
    everything = np.arange(len(data.y))
    last = month.max()
    return Fold(
        fit=everything[month < last],
        calibrate=everything[month == last],
        test=everything[:0],
        test_period=int(data.period.max()),
    )


def installed(contest: Contest, data: Dataset, verified: vf.Verified | None = None) -> Scorer:
    """The champion's recipe fitted on every example with a known outcome (and every verifier decision
    taken), as it is installed."""
    final = final_fold(data)
    extra = vf.taken(verified or vf.none())
    name = contest.champion
    if name == "model":
        return Scorer(name, estimator=fit_model(data, final, contest.size, extra))
    if name == "logistic_regression":
        return Scorer(name, estimator=fit_logistic(data, final, extra))
    return fit_scorer(name, data, final, contest.size)


def choose(comparison: dict[str, Any]) -> tuple[str, str]:
    """The simplest scorer that no other beats with confidence (paired interval of the difference
    above zero): the best recall at the budget, ties broken toward the simpler one."""
    names = [n for n in SIMPLICITY if n in comparison["scorers"]]
    recall = {n: comparison["scorers"][n]["recall"]["value"] for n in names}

    def beaten(n: str) -> list[str]:
        return [o for o in names if o != n and ev.confidently_better(comparison, o, n)]

    standing = [n for n in names if not beaten(n)] or [max(names, key=lambda n: recall[n])]
    champion = standing[0]
    pct = round(comparison["budget"] * 100)
    figure = comparison["scorers"][champion]["recall"]
    said = f"{champion}: recall at {pct} % {figure['value']:.3f} [{figure['low']:.3f}–{figure['high']:.3f}]"
    said += f" over {comparison['folds']} folds"
    passed_over = [n for n in names if n != champion and recall[n] > recall[champion]]
    if passed_over:
        said += "; " + ", ".join(f"{n} ({recall[n]:.3f})" for n in passed_over)
        said += " not better with confidence, so the simpler one"
    if champion not in LEARNED:
        said += "; no learned scorer beats it with confidence: scoring runs on this baseline"
    return champion, said
