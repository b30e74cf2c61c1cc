"""Verifier decisions as a second target: a learned scorer learns from the decisions taken by its
fold's test period (never later ones), with the policy's weight, and every scorer is judged on the
decisions no fit has seen."""

from datetime import date
from typing import Any

import numpy as np
import pytest

from app.risk import champion as ch
from app.risk import features as ft
from app.risk import model as ml
from app.risk import verified as vf

SERIOUS = ft.MODEL_FEATURE_NAMES.index("serious")
LINE = ft.MODEL_FEATURE_NAMES.index("line_ratio")


def _district(n: int = 2000, periods: int = 6, seed: int = 3) -> ml.Dataset:
    """Falls below the line depend on the line ratio alone; illness is recorded but says nothing."""
    rng = np.random.default_rng(seed)
    rows = n * periods
    X = np.full((rows, len(ft.MODEL_FEATURE_NAMES)), np.nan)
    X[:, LINE] = rng.lognormal(np.log(1.3), 0.35, rows)
    X[:, SERIOUS] = rng.integers(0, 3, rows)
    risk = -np.log(X[:, LINE]) + rng.normal(0, 0.3, rows)
    y = risk > np.quantile(risk, 0.8)
    days = np.repeat(date(2020, 11, 30).toordinal() + 365 * np.arange(periods), n)
    return ml.Dataset(X, y, days, days + 365, np.zeros(rows, dtype=np.int64), ["t"], np.zeros(rows))


def _decisions(data: ml.Dataset, weight: float, n: int = 600, seed: int = 4) -> vf.Verified:
    """Verifiers confirm the seriously ill and reject the others, over the district's last years."""
    rng = np.random.default_rng(seed)
    X = np.full((n, len(ft.MODEL_FEATURE_NAMES)), np.nan)
    X[:, LINE] = rng.lognormal(np.log(1.1), 0.2, n)
    X[:, SERIOUS] = rng.integers(0, 3, n)
    y = X[:, SERIOUS] + rng.normal(0, 0.4, n) > 1.2
    decided = rng.integers(int(data.period.min()), int(data.period.max()) + 400, n)
    return vf.Verified(X, y, decided, np.zeros(n), weight)


def test_the_verifiers_decisions_teach_the_learned_scorers_and_judge_every_scorer() -> None:
    data = _district()
    folds = ch.folds(data)
    learned = ch.contest(data, 0.10, folds, _decisions(data, weight=5.0)).verifiers
    ignored = ch.contest(data, 0.10, folds, _decisions(data, weight=0.0)).verifiers
    assert learned["decisions"] == ignored["decisions"] > 0  # the same held-out decisions judged
    assert set(learned["scorers"]) == {"model", "logistic_regression", "distance_to_line", "rules"}
    taught = learned["scorers"]["logistic_regression"]["roc_auc"]
    untaught = ignored["scorers"]["logistic_regression"]["roc_auc"]
    assert taught["low"] <= taught["value"] <= taught["high"]
    assert taught["value"] > untaught["value"] + 0.15  # illness, which income never showed, is learned
    assert learned["scorers"]["model"]["roc_auc"]["value"] > ignored["scorers"]["model"]["roc_auc"]["value"]


def test_a_fold_learns_only_from_decisions_taken_by_its_test_period(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _district(n=500)
    decisions = _decisions(data, weight=1.0)
    seen: list[tuple[int, int]] = []
    fit = ch.fit_logistic

    def watching(data: ml.Dataset, fold: ch.Fold, extra: ch.Extra = None) -> Any:
        seen.append((fold.test_period, 0 if extra is None else len(extra[1])))
        return fit(data, fold, extra)

    monkeypatch.setattr(ch, "fit_logistic", watching)
    judged = ch.contest(data, 0.10, ch.folds(data), decisions).verifiers
    assert [count for _, count in seen] == [int((decisions.decided_day <= day).sum()) for day, _ in seen]
    assert judged["decisions"] == int((decisions.decided_day > seen[-1][0]).sum())


def test_too_few_decisions_are_reported_not_judged() -> None:
    data = _district(n=500)
    few = _decisions(data, weight=1.0, n=12)
    judged = ch.contest(data, 0.10, ch.folds(data), few).verifiers
    assert judged["scorers"] == {}
    assert "too few decisions" in judged["note"]
