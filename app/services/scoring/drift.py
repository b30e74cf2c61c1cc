"""The drift report of a scoring run: its profile against its reference (app/risk/drift.py), judged by the
current policy's thresholds, for the district and each township."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Region, RiskProfile, RiskRun
from app.models.enums import Role
from app.risk import drift
from app.risk.features import MODEL_FEATURES
from app.schemas.drift import (
    DriftReferenceRead,
    DriftReportRead,
    DriftThresholdsRead,
    ScopeDriftRead,
    VariableDriftRead,
)
from app.services.platform import access
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

DRIFT_READERS = frozenset({Role.district_officer, Role.admin})
LABELS = {f.name: (f.label, str(f.unit)) for f in MODEL_FEATURES} | {
    drift.SCORE: ("预警模型给出的风险概率", "probability")
}


def report(session: Session, actor: Actor, run_id: int | None) -> DriftReportRead:
    """The given run's report, or the latest completed run's that recorded a profile."""
    access.require_role(actor, DRIFT_READERS, "reading the drift report")
    run, profile = _run_profile(session, run_id)
    reference = session.get(RiskProfile, profile.reference_id) if profile.reference_id else None
    if profile.reference_id is not None and reference is None:
        raise NotFound(f"the reference of run {run.id} no longer exists", field="run_id")
    version, policy = policy_service.current_data(session)
    thresholds = drift.Thresholds(
        float(policy.drift_watch_psi), float(policy.drift_psi), policy.drift_min_households
    )
    base = reference or profile
    unmeasured = drift.UNMEASURED_IN_TRAINING if base.kind == "training" else frozenset[str]()
    found = drift.report(drift.from_json(base.data), drift.from_json(profile.data), thresholds, unmeasured)
    codes = [t.township for t in found.townships]
    rows = session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).tuples()
    names = dict(rows.all())
    district = _scope(found.district, None)
    townships = [_scope(t, names.get(t.township or "")) for t in found.townships]
    return DriftReportRead(
        run_id=run.id,
        as_of=run.as_of,
        reference=_reference(reference or profile, run.id),
        thresholds=DriftThresholdsRead(
            watch_psi=policy.drift_watch_psi,
            drift_psi=policy.drift_psi,
            min_households=policy.drift_min_households,
            policy_version=version,
        ),
        district=district,
        townships=townships,
        drifted=district.drifted + [f"{t.township_code}:{name}" for t in townships for name in t.drifted],
    )


def _run_profile(session: Session, run_id: int | None) -> tuple[RiskRun, RiskProfile]:
    if run_id is None:
        latest = session.execute(
            select(RiskRun, RiskProfile)
            .join(RiskProfile, RiskProfile.run_id == RiskRun.id)
            .where(RiskRun.status == "completed")
            .order_by(RiskRun.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            raise NotFound("no completed scoring run has recorded its inputs yet", field="run_id")
        return latest[0], latest[1]
    run = session.get(RiskRun, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", field="run_id")
    profile = session.scalar(select(RiskProfile).where(RiskProfile.run_id == run_id))
    if profile is None:
        raise NotFound(
            f"run {run_id} has no drift profile (it did not complete, or ran before drift was recorded)",
            field="run_id",
        )
    return run, profile


def _reference(reference: RiskProfile, run_id: int) -> DriftReferenceRead:
    kind = (
        "training" if reference.kind == "training" else "self" if reference.run_id == run_id else "first_run"
    )
    window = f"{reference.window_from.isoformat()} – {reference.window_to.isoformat()}"
    note = {
        "training": f"the training window of model {reference.model_id} (reports ending {window})",
        "first_run": f"no model had been trained: compared with the first completed run ({reference.run_id}, "
        f"as of {reference.window_to.isoformat()})",
        "self": "no model has been trained and this is the first completed run: it is the reference of the "
        "runs after it",
    }[kind]
    return DriftReferenceRead(
        kind=kind,
        profile_id=reference.id,
        model_id=reference.model_id,
        run_id=reference.run_id,
        window_from=reference.window_from,
        window_to=reference.window_to,
        note=note,
    )


def _variable(v: drift.VariableDrift) -> VariableDriftRead:
    label, unit = LABELS.get(v.name, (v.name, ""))
    return VariableDriftRead(
        name=v.name,
        label=label,
        unit=unit,
        psi=v.psi,
        status=v.status,
        missing_share=v.missing_share,
        reference_missing_share=v.reference_missing_share,
    )


def _scope(scope: drift.ScopeDrift, name: str | None) -> ScopeDriftRead:
    return ScopeDriftRead(
        township_code=scope.township,
        township_name=name,
        households=scope.households,
        reference_count=scope.reference_households,
        status=scope.status,
        drifted=scope.drifted,
        features=[_variable(v) for v in scope.features],
        score=_variable(scope.score),
    )
