"""Train, evaluate and (only if it is not worse) install a new early-warning model.

Governance: a new model replaces the active one only if its recall at the 10 % alert budget on the
newest hold-out is not lower than the active model's on the same hold-out. Otherwise it is kept,
marked rejected, with its figures, so the decision can be audited. One training at a time (a lease).
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import sklearn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import lifecycle
from app.config import Settings
from app.db import Sessions, transaction
from app.models import Household, RiskModel
from app.risk import features as ft
from app.risk import model as ml
from app.risk import panel as pn
from app.risk import panel_read
from app.services.platform import audit, leases
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

logger = logging.getLogger(__name__)
LEASE = "risk_training"
LEASE_TTL = timedelta(minutes=30)
GOVERNING_METRIC = "recall_at_10"
TRAIN_MAX_HOUSEHOLDS = 200_000
EXPLAINED_FEATURES = 8


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
    table: list[dict[str, Any]]  # one row per scorer: model and baselines, point values and intervals


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
        data = ml.build_dataset(panel, policy)
        ml.check_history(data, policy)
        split = ml.temporal_split(data)
        _renew(sessions, holder)
        estimator = ml.fit_model(data, split)
        logistic = ml.fit_logistic(data, split)
        _renew(sessions, holder)
        test = split.test
        y, township = data.y[test], data.township[test]
        probability = ml.probabilities(estimator, data.X[test])
        evaluation: dict[str, Any] = {
            "model": ml.evaluate(y, probability, township, data.townships, probabilistic=True),
            "baselines": {
                name: ml.evaluate(y, score, township, data.townships, probabilistic=probabilistic)
                for name, (score, probabilistic) in ml.baseline_scores(data, test, logistic).items()
            },
        }
        reference = _reference(data.X[split.fit])
        artifact = ml.Artifact(
            estimator=estimator,
            features=ft.MODEL_FEATURE_NAMES,
            reference=reference,
            explained=ml.most_influential(estimator, data.X[split.calibrate], reference, EXPLAINED_FEATURES),
            horizon_months=policy.model_horizon_months,
            sklearn_version=sklearn.__version__,
        )
        blob = ml.dump(artifact)
        with transaction(sessions) as session:
            audit.lock_chain(session)  # one install at a time, and the audit row with it
            current = active_model(session)
            status, decision = _decide(settings, current, evaluation, data.X[test], y)
            if status == "active" and current is not None:
                current.status = "retired"
                session.flush()
            stored = RiskModel(
                status=status,
                created_by=triggered_by,
                policy_version=version,
                estimator="HistGradientBoostingClassifier + sigmoid calibration",
                sklearn_version=sklearn.__version__,
                features=list(ft.MODEL_FEATURE_NAMES),
                train_from=date.fromordinal(split.train_from),
                train_to=date.fromordinal(split.train_to),
                test_period=date.fromordinal(split.test_period),
                examples_train=int(len(split.fit) + len(split.calibrate)),
                examples_test=int(len(test)),
                positives_test=int(y.sum()),
                evaluation=evaluation,
                decision=decision,
                artifact=blob,
                sha256=ml.digest(blob),
                signature=ml.sign(blob, signing_key(settings)),
            )
            session.add(stored)
            session.flush()
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
                            "status": status,
                            "decision": decision,
                            "replaced": current.id if current is not None and status == "active" else None,
                            "sha256": stored.sha256,
                        },
                    )
                ],
            )
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


def _reference(X: pn.FloatArray) -> pn.FloatArray:
    """The typical household: each feature's median over the training examples (0 where never known)."""
    with np.errstate(all="ignore"):
        known = ~np.isnan(X)
        median = np.array(
            [np.median(X[known[:, j], j]) if known[:, j].any() else 0.0 for j in range(X.shape[1])]
        )
    return median


def _decide(
    settings: Settings,
    current: RiskModel | None,
    evaluation: dict[str, Any],
    X_test: pn.FloatArray,
    y_test: pn.BoolArray,
) -> tuple[str, str]:
    new = evaluation["model"]["metrics"][GOVERNING_METRIC]["value"]
    if current is None:
        return "active", f"first model (recall at 10 % = {new:.3f})"
    try:
        artifact = load_artifact(settings, current)
    except ml.ArtifactInvalid as exc:
        return "active", f"replaces model {current.id}, which can no longer be loaded ({exc})"
    if tuple(artifact.features) != ft.MODEL_FEATURE_NAMES:
        return "active", f"replaces model {current.id}, trained on other features"
    hits, _ = ml.budget_hits(y_test, ml.probabilities(artifact.estimator, X_test), 0.10)
    old = hits / y_test.sum() if y_test.sum() else 0.0
    evaluation["active_model_on_this_holdout"] = {"model_id": current.id, GOVERNING_METRIC: round(old, 4)}
    if new >= round(old, 4):
        return "active", f"recall at 10 % {new:.3f} ≥ {old:.3f} of model {current.id} on the same hold-out"
    return "rejected", f"recall at 10 % {new:.3f} < {old:.3f} of model {current.id} on the same hold-out"


def table(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"scorer": "model", **evaluation["model"]["metrics"]}]
    rows += [{"scorer": name, **e["metrics"]} for name, e in evaluation["baselines"].items()]
    return rows
