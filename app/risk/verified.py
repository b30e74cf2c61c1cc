"""Verifier decisions in training: the households verifiers confirmed or rejected (app/risk/labels.py)
are a second target. A learned scorer fitted for a fold also learns from the decisions taken by then
(features as of each signal, weighted by the policy), and every scorer is judged on the decisions taken
after the newest fold's training — which no fit has seen — by how well it ranks confirmed above
rejected, with an interval."""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from app.risk import evaluation as ev
from app.risk import panel as pn

Array = pn.FloatArray
MIN_JUDGED = 10  # decisions of each kind (confirmed, rejected) needed to judge the scorers on them


@dataclass
class Verified:
    X: Array  # examples × MODEL_FEATURE_NAMES, as of each signal
    y: pn.BoolArray  # confirmed
    decided_day: pn.IntArray  # the day the label became known
    rules_score: Array  # the rules' level at the signal (2 high, 1 medium, 0 none)
    weight: float  # the policy's weight of one decision against one household-period

    def known_by(self, day: int) -> tuple[Array, pn.BoolArray, Array] | None:
        """The decisions taken on or before `day`, as extra training rows (None: none, or weight 0)."""
        rows = self.decided_day <= day
        if self.weight <= 0 or not rows.any():
            return None
        return self.X[rows], self.y[rows], np.full(int(rows.sum()), self.weight)


def taken(verified: Verified) -> tuple[Array, pn.BoolArray, Array] | None:
    """Every decision taken so far, as extra training rows (for the installed champion)."""
    return verified.known_by(int(verified.decided_day.max())) if len(verified.decided_day) else None


def none() -> Verified:
    empty = np.zeros(0, dtype=np.int64)
    return Verified(np.zeros((0, 0)), np.zeros(0, dtype=bool), empty, np.zeros(0), 0.0)


def judge(verified: Verified, after: int, scores: dict[str, Array]) -> dict[str, Any]:
    """Each scorer's ROC AUC of confirmed against rejected over the decisions taken after `after`,
    with a 95 % bootstrap interval; `scores` are the scorers' scores of those decisions, in order."""
    held = verified.decided_day > after
    y = verified.y[held]
    confirmed = int(y.sum())
    out: dict[str, Any] = {"decisions": int(held.sum()), "confirmed": confirmed, "scorers": {}}
    if min(confirmed, len(y) - confirmed) < MIN_JUDGED:
        out["note"] = f"too few decisions to judge on (each kind needs {MIN_JUDGED})"
        return out
    rng = np.random.default_rng(0)
    picks = [rng.integers(0, len(y), len(y)) for _ in range(ev.BOOTSTRAP)]
    for name, score in scores.items():
        samples = [roc_auc_score(y[pick], score[pick]) for pick in picks if 0 < y[pick].sum() < len(pick)]
        out["scorers"][name] = {"roc_auc": ev.interval(float(roc_auc_score(y, score)), samples)}
    return out


def held_out(verified: Verified, after: int) -> tuple[Array, Array]:
    """The features and rules scores of the decisions taken after `after` (the ones judged on)."""
    held = verified.decided_day > after
    return verified.X[held], verified.rules_score[held]
