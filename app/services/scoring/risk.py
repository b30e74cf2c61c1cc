"""Risk results as users read them, and admins' requests for a run."""

from datetime import date
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.errors import NotFound
from app.models import PolicyVersion, RiskModel, RiskResult, RiskRun
from app.models.enums import Role
from app.risk import features, panel_read, scorer, training
from app.risk import model as ml
from app.risk.champion import LABELS as CHAMPION_LABELS
from app.risk.model import ArtifactInvalid
from app.schemas.common import PageParams
from app.schemas.policy import PolicyData
from app.schemas.risk import (
    FactorRead,
    FoldsRead,
    HouseholdRiskRead,
    ModelStatusRead,
    ModelVersionRead,
    ReasonRead,
)
from app.services.platform import access
from app.services.platform.access import Actor
from app.services.registry import households

RUN_READERS = frozenset({Role.district_officer, Role.admin})
RUN_REQUESTERS = frozenset({Role.admin})


def request(session: Session, actor: Actor, as_of: date | None) -> RiskRun:
    access.require_role(actor, RUN_REQUESTERS, "starting a scoring run")
    return scorer.request_run(session, as_of=as_of or local_today(), requested_by=actor.username)


def list_runs(session: Session, actor: Actor, page: PageParams) -> tuple[list[RiskRun], int]:
    access.require_role(actor, RUN_READERS, "reading scoring runs")
    total = session.scalar(select(func.count()).select_from(RiskRun)) or 0
    runs = session.scalars(
        select(RiskRun).order_by(RiskRun.id.desc()).offset(page.offset).limit(page.page_size)
    )
    return list(runs), total


def get_run(session: Session, actor: Actor, run_id: int) -> RiskRun:
    access.require_role(actor, RUN_READERS, "reading scoring runs")
    run = session.get(RiskRun, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", field="run_id")
    return run


def household_risk(
    session: Session, settings: Settings, actor: Actor, household_id: int
) -> HouseholdRiskRead:
    """The household's result in the current (latest completed) run."""
    households.load(session, actor, household_id, members=False)
    access.require_details(session, actor, household_id)
    run = scorer.current_run(session)
    result = None
    if run is not None:
        result = session.get(RiskResult, (run.id, household_id))
    if run is None or result is None:
        raise NotFound("this household has not been scored yet", field="household_id")
    return HouseholdRiskRead(
        household_id=household_id,
        run_id=run.id,
        as_of=run.as_of,
        level=result.level,
        score=result.score,
        reasons=[ReasonRead.model_validate(r) for r in result.reasons],
        factors=[
            FactorRead.model_validate(f)
            for f in result.factors or _explain_on_read(session, settings, run, household_id)
        ]
        if run.mode in ("model", "baseline")
        else None,
    )


def _explain_on_read(
    session: Session, settings: Settings, run: RiskRun, household_id: int
) -> list[dict[str, Any]]:
    """A household the model did not flag gets its factors when it is read (a run explains only the
    flagged ones, to stay fast): the run's model and policy, on the reports known on the run's as_of."""
    stored = session.get(RiskModel, int(run.model_version)) if run.model_version else None
    policy = session.get(PolicyVersion, run.policy_version)
    if stored is None or policy is None:
        return []
    try:
        artifact = training.load_artifact(settings, stored)
    except ArtifactInvalid:
        return []
    panel = panel_read.load(session, as_of=run.as_of, household_ids=[household_id])
    rows = features.latest_rows(panel)
    if not len(rows) or rows[0] < 0:
        return []
    days = np.full(1, run.as_of.toordinal())
    X = ml.matrix(features.model_columns(panel, PolicyData.model_validate(policy.data), rows, days))
    return ml.explain(artifact, X, artifact.scorer.probabilities(X, np.zeros(len(X))))[0]


def model_status(session: Session, settings: Settings, actor: Actor) -> ModelStatusRead:
    """The champion in use (or why scoring runs on rules alone), one awaiting confirmation, and the
    latest trained versions."""
    access.require_role(actor, RUN_READERS, "reading the risk model")
    recent = list(session.scalars(select(RiskModel).order_by(RiskModel.id.desc()).limit(5)))
    current = next((m for m in recent if m.status == "active"), None) or training.active_model(session)
    pending = session.scalars(
        select(RiskModel).where(RiskModel.status == "pending").order_by(RiskModel.id.desc()).limit(1)
    ).first()
    mode: Literal["model", "baseline", "rules"] = "rules"
    code: Literal["cold_start", "model", "baseline", "unusable"] = "cold_start"
    reason = "cold start: nothing has been trained yet (shouwang risk train, or the weekly schedule)"
    if current is not None:
        try:
            training.load_artifact(settings, current)
            learned = current.champion in ml.LEARNED
            mode = code = "model" if learned else "baseline"
            reason = f"champion {current.id} ({CHAMPION_LABELS[current.champion]}): {current.decision}"
        except ArtifactInvalid as exc:
            code = "unusable"
            reason = f"champion {current.id} cannot be used ({exc}); runs apply the rules alone"
            if pending is not None:
                reason += f"; champion {pending.id} awaits an admin's confirmation"
    in_use = current.champion if current is not None and mode != "rules" else None
    return ModelStatusRead(
        mode=mode,
        reason_code=code,
        reason=reason,
        champion=in_use,
        champion_label=CHAMPION_LABELS[in_use] if in_use else None,
        current=model_read(current) if current is not None else None,
        pending=model_read(pending) if pending is not None else None,
        recent=[model_read(m) for m in recent],
    )


def model_read(m: RiskModel) -> ModelVersionRead:
    evaluation = m.evaluation
    folds = evaluation.get("folds")  # (models trained before the champion have no folds)
    return ModelVersionRead(
        id=m.id,
        status=m.status,
        champion=m.champion,
        champion_label=CHAMPION_LABELS[m.champion],
        why=evaluation.get("why"),
        capacity=evaluation.get("capacity"),
        created_at=m.created_at,
        created_by=m.created_by,
        confirmed_by=m.confirmed_by,
        confirmed_at=m.confirmed_at,
        policy_version=m.policy_version,
        estimator=m.estimator,
        sklearn_version=m.sklearn_version,
        features=m.features,
        train_from=m.train_from,
        train_to=m.train_to,
        test_period=m.test_period,
        examples_train=m.examples_train,
        examples_test=m.examples_test,
        positives_test=m.positives_test,
        decision=m.decision,
        sha256=m.sha256,
        folds=FoldsRead.model_validate(folds | {"periods": evaluation["fold_periods"]}) if folds else None,
        verifiers=evaluation.get("verifiers"),
        metrics=evaluation["model"]["metrics"],
        baselines={name: e["metrics"] for name, e in evaluation["baselines"].items()},
        recall_at_10_by_township=evaluation["model"]["recall_at_10_by_township"],
    )
