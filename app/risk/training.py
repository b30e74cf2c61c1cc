"""Train, judge and (only if it earns it) install a new champion.

Every training fits the learned model (its size chosen by the data's) and judges it with the baselines
on rolling-origin folds (champion.py). The champion — the scorer with the best recall at the policy's
alert budget, ties to the simpler — is installed only if it is not worse than the active champion on
the folds the active one has not seen. A champion that would replace one that can no longer be loaded
(a scikit-learn upgrade, a rotated key) waits for an admin's confirmation instead of replacing it
silently. Every outcome is kept with its figures, so the decision can be audited. One training at a
time (a lease).
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sklearn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import lifecycle
from app.config import Settings
from app.db import Sessions, transaction
from app.models import Household, RiskModel
from app.risk import champion as ch
from app.risk import drift_store, labels, panel_read
from app.risk import evaluation as ev
from app.risk import features as ft
from app.risk import model as ml
from app.risk import panel as pn
from app.risk import verified as vf
from app.services.platform import audit, leases
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

logger = logging.getLogger(__name__)
LEASE = "risk_training"
LEASE_TTL = timedelta(minutes=30)
# A larger district trains on a spread-out sample: every k-th household by id, k the smallest that leaves at
# most this many (so between half of it and it). At 200,000 households (bench/RESULTS.md, issue 18): all of
# them took 169 s; 40,000 take 41.5 s and 0.88 GiB. Every household is still scored.
TRAIN_MAX_HOUSEHOLDS = 40_000
EXPLAINED_FEATURES = 8
MODEL_ESTIMATORS = {
    "small": "HistGradientBoostingClassifier (shallow, monotone in income) + sigmoid calibration",
    "large": "HistGradientBoostingClassifier + sigmoid calibration",
}
BASELINE_ESTIMATORS = {
    "logistic_regression": "LogisticRegression (median-imputed, standardised)",
    "distance_to_line": "distance to the monitoring line (per-capita income ÷ line), mapped to a probability",
    "rules": "the policy's rules, each level mapped to its rate of falls",
}


class AlreadyTraining(Exception):
    """Another process holds the training lease."""


def signing_key(settings: Settings) -> bytes:
    return hashlib.sha256(b"shouwang-model:" + settings.secret_key.get_secret_value().encode()).digest()


def active_model(session: Session) -> RiskModel | None:
    return session.scalars(select(RiskModel).where(RiskModel.status == "active")).first()


def load_artifact(settings: Settings, stored: RiskModel) -> ml.Artifact:
    return ml.load(
        stored.artifact, sha256=stored.sha256, signature=stored.signature, key=signing_key(settings)
    )


@dataclass
class Outcome:
    model: RiskModel
    table: list[dict[str, Any]]  # one row per scorer: recall at the budget over the folds, and more


def train(sessions: Sessions, settings: Settings, *, triggered_by: str) -> Outcome:
    """Raises ml.ColdStart when the history is too short, AlreadyTraining when another is running."""
    holder = leases.holder_id()
    if not leases.acquire(sessions, LEASE, holder, LEASE_TTL):
        raise AlreadyTraining("another training is in progress")
    try:
        with transaction(sessions) as session:
            version, policy = policy_service.current_data(session)
            households = session.scalar(select(func.count()).select_from(Household)) or 0
            # a large district trains on a spread-out sample: enough to learn from, in bounded memory
            panel = panel_read.load(session, every=max(1, -(-households // TRAIN_MAX_HOUSEHOLDS)))
            decisions = labels.load_examples(session, townships=panel.townships)
        data = ml.build_dataset(panel, policy)
        ml.check_history(data, policy)
        folds = ch.folds(data)
        _renew(sessions, holder)
        verified = vf.Verified(
            X=decisions.X,
            y=decisions.y,
            decided_day=decisions.decided_day,
            rules_score=np.array([ml.LEVEL_SCORE.get(level or "", 0.0) for level in decisions.rules_level]),
            weight=float(policy.verifier_label_weight),
        )
        contest = ch.contest(data, float(policy.alert_budget), folds, verified)
        _renew(sessions, holder)
        newest, final = folds[-1], ch.final_fold(data)
        scorer = ch.installed(contest, data, verified)
        evaluation = _evaluation(data, contest)
        reference = _reference(data.X[final.fit])
        explained = (
            ml.most_influential(scorer.estimator, data.X[final.calibrate], reference, EXPLAINED_FEATURES)
            if scorer.learned
            else ()
        )
        artifact = ml.Artifact(
            scorer=scorer,
            features=ft.MODEL_FEATURE_NAMES,
            reference=reference,
            explained=explained,
            horizon_months=policy.model_horizon_months,
            sklearn_version=sklearn.__version__,
        )
        blob = ml.dump(artifact)
        window = final.train  # drift: the installed scorer's training examples, the runs' reference
        profile = drift_store.training_profile(
            data.X[window],
            data.township[window],
            data.townships,
            data.period[window],
            scorer.probabilities(data.X[window], data.rules_score[window]),
        )
        with transaction(sessions) as session:
            audit.lock_chain(session)  # one install at a time, and the audit row with it
            current = active_model(session)
            status, decision = _decide(settings, current, contest)
            if status == "active" and current is not None:
                current.status = "retired"
                session.flush()
            stored = RiskModel(
                status=status,
                champion=contest.champion,
                created_by=triggered_by,
                policy_version=version,
                estimator=_estimator(contest),
                sklearn_version=sklearn.__version__,
                features=list(ft.MODEL_FEATURE_NAMES),
                train_from=date.fromordinal(int(data.period[final.train].min())),
                train_to=date.fromordinal(int(data.period[final.calibrate].max())),
                test_period=date.fromordinal(newest.test_period),
                examples_train=int(len(final.train)),
                examples_test=int(len(newest.test)),
                positives_test=int(data.y[newest.test].sum()),
                evaluation=evaluation,
                decision=decision,
                artifact=blob,
                sha256=ml.digest(blob),
                signature=ml.sign(blob, signing_key(settings)),
            )
            session.add(stored)
            session.flush()
            profile.model_id = stored.id  # drift (issue 15.5)
            session.add(profile)
            _audit(session, settings, triggered_by, stored, current)
            session.expunge(stored)
        return Outcome(stored, table(evaluation))
    finally:
        leases.release(sessions, LEASE, holder)


def _renew(sessions: Sessions, holder: str) -> None:
    """Between training's phases: stop here on SIGTERM (the lease is released on the way out), and keep
    the lease."""
    lifecycle.check()
    if not leases.renew(sessions, LEASE, holder, LEASE_TTL):
        raise AlreadyTraining("the training lease expired and another training took it")


def _estimator(contest: ch.Contest) -> str:
    if contest.champion == "model":
        return MODEL_ESTIMATORS[contest.size]
    return BASELINE_ESTIMATORS[contest.champion]


def _evaluation(data: ml.Dataset, contest: ch.Contest) -> dict[str, Any]:
    """The folds' comparison (what the champion was chosen on) and, on the newest fold, every scorer's
    full set of metrics with intervals (the model card's detail)."""
    scores = contest.scores
    newest = scores.fold == scores.fold.max()
    y, township = scores.y[newest], scores.township[newest]

    def detail(name: str) -> dict[str, Any]:
        return ev.evaluate(
            y, scores.scores[name][newest], township, data.townships, probabilistic=name in ml.LEARNED
        )

    return {
        "champion": contest.champion,
        "why": contest.why,
        "capacity": contest.size,
        "fold_periods": [date.fromordinal(f.test_period).isoformat() for f in contest.folds],
        "folds": contest.comparison,
        "verifiers": contest.verifiers,
        "model": detail("model"),
        "baselines": {name: detail(name) for name in ch.SIMPLICITY if name != "model"},
    }


def _reference(X: pn.FloatArray) -> pn.FloatArray:
    """The typical household: each feature's median over the training examples (0 where never known)."""
    with np.errstate(all="ignore"):
        known = ~np.isnan(X)
        median = np.array(
            [np.median(X[known[:, j], j]) if known[:, j].any() else 0.0 for j in range(X.shape[1])]
        )
    return median


def _decide(settings: Settings, current: RiskModel | None, contest: ch.Contest) -> tuple[str, str]:
    """active | rejected | pending (an admin must confirm), and why in words."""
    why = contest.why
    if current is None:
        return "active", f"first champion — {why}"
    try:
        load_artifact(settings, current)
    except ml.ArtifactInvalid as exc:
        recorded = _recorded_recall(current)
        return "pending", (
            f"awaits an admin's confirmation: it would replace model {current.id}, which can no longer be "
            f"loaded ({exc}); that one's recorded recall {recorded} — {why}"
        )
    return _against_active(current, contest)


def _against_active(current: RiskModel, contest: ch.Contest) -> tuple[str, str]:
    """The new champion against the active champion's scorer on the same folds, both fitted only on
    what each fold knew (the installed artifacts learned from the folds' test periods: judging them
    there would favour the older one)."""
    why, folds = contest.why, contest.comparison
    old_name, new_name = current.champion, contest.champion
    if old_name not in folds["scorers"]:
        return "active", f"replaces model {current.id} ({old_name}, not judged any more) — {why}"
    new, old = (folds["scorers"][n]["recall"]["value"] for n in (new_name, old_name))
    versus = f"{new_name} {new:.3f} against {old_name} (model {current.id}) {old:.3f} on the same folds"
    if new_name != old_name and ev.confidently_better(folds, old_name, new_name):
        return "rejected", f"{versus}: worse with confidence — {why}"
    return "active", f"{versus}: not worse — {why}"


def _recorded_recall(stored: RiskModel) -> str:
    folds = stored.evaluation.get("folds")
    if folds:
        figure = folds["scorers"][stored.evaluation["champion"]]["recall"]
        return f"{figure['value']:.3f} [{figure['low']:.3f}–{figure['high']:.3f}]"
    metric = stored.evaluation["model"]["metrics"].get("recall_at_10")
    return f"{metric['value']:.3f}" if metric else "unknown"


def _audit(
    session: Session, settings: Settings, triggered_by: str, stored: RiskModel, current: RiskModel | None
) -> None:
    replaced = current.id if current is not None and stored.status == "active" else None
    audit.record(
        session,
        settings,
        Actor.system(triggered_by),
        [
            audit.Change(
                "risk_model.train",
                "risk_model",
                stored.id,
                None,
                {
                    "status": stored.status,
                    "champion": stored.champion,
                    "decision": stored.decision,
                    "replaced": replaced,
                    "sha256": stored.sha256,
                },
            )
        ],
    )


def confirm(session: Session, settings: Settings, actor: Actor, model_id: int, at: datetime) -> RiskModel:
    """An admin installs a pending champion in place of an active one that can no longer be loaded."""
    audit.lock_chain(session)
    stored = session.get(RiskModel, model_id)
    if stored is None:
        raise LookupError(model_id)
    current = active_model(session)
    if current is not None:
        current.status = "retired"
        session.flush()
    stored.status, stored.confirmed_by, stored.confirmed_at = "active", actor.username, at
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "risk_model.confirm",
                "risk_model",
                stored.id,
                None,
                {"status": ["pending", "active"], "replaced": current.id if current is not None else None},
            )
        ],
    )
    return stored


def table(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    """Per scorer: recall at the budget over the folds (with its interval), then the newest fold's
    detail. The champion first."""
    folds = evaluation["folds"]
    detail = {"model": evaluation["model"], **evaluation["baselines"]}
    names = sorted(folds["scorers"], key=lambda n: (n != evaluation["champion"], ch.SIMPLICITY.index(n)))
    return [
        {
            "scorer": name,
            "champion": name == evaluation["champion"],
            "recall_at_budget": folds["scorers"][name]["recall"],
            **detail[name]["metrics"],
        }
        for name in names
    ]
