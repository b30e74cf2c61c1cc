"""Admins' hold on the champion: ask the worker for a training, and confirm a champion that would
replace one that can no longer be loaded (nothing replaces it silently)."""

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.clock import now
from app.config import Settings
from app.db import Sessions, transaction
from app.errors import Conflict, NotFound
from app.models import JobLease, RiskModel, TrainingRequest
from app.models.enums import Role
from app.risk import model as ml
from app.risk import training
from app.services.platform import access, audit
from app.services.platform.access import Actor

logger = logging.getLogger(__name__)
ADMINS = frozenset({Role.admin})


def _abandon_dead(session: Session) -> None:
    """A request left "running" by a worker that died (killed, out of memory) holds no training lease:
    it can never finish, so it is marked failed, and a new one can be asked for."""
    held = session.scalar(
        select(JobLease.name).where(JobLease.name == training.LEASE, JobLease.lease_until > now())
    )
    if held is None:
        session.execute(
            update(TrainingRequest)
            .where(TrainingRequest.status == "running")
            .values(
                status="failed", finished_at=now(), outcome="abandoned: the worker stopped while training"
            )
        )


def request_training(session: Session, settings: Settings, actor: Actor) -> TrainingRequest:
    """Queue a training for the worker; an open request is returned rather than duplicated."""
    access.require_role(actor, ADMINS, "asking for a training")
    audit.lock_chain(session)  # two admins at once must not both add a request
    _abandon_dead(session)
    open_request = session.scalars(
        select(TrainingRequest).where(TrainingRequest.status.in_(("requested", "running"))).limit(1)
    ).first()
    if open_request is not None:
        return open_request
    request = TrainingRequest(requested_by=actor.username)
    session.add(request)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("risk_model.training_request", "risk_training_request", request.id, None, {})],
    )
    return request


def retrain_if_unusable(sessions: Sessions, settings: Settings) -> TrainingRequest | None:
    """After a library upgrade or a key rotation the active champion cannot be loaded and runs fall back
    to the rules: ask for a training at once (not at the weekly schedule), unless one is open or a
    champion already awaits confirmation. The new champion still waits for an admin (training.py)."""
    with transaction(sessions) as session:
        current = training.active_model(session)
        if current is None:
            return None
        try:
            training.load_artifact(settings, current)
            return None
        except ml.ArtifactInvalid:
            pass
        audit.lock_chain(session)  # two workers at once: one request
        _abandon_dead(session)
        waiting = session.scalar(
            select(RiskModel.id).where(RiskModel.status == "pending", RiskModel.id > current.id).limit(1)
        )
        open_request = session.scalar(
            select(TrainingRequest.id).where(TrainingRequest.status.in_(("requested", "running"))).limit(1)
        )
        if waiting is not None or open_request is not None:
            return None
        request = TrainingRequest(requested_by="system:unusable_champion")
        session.add(request)
        session.flush()
        logger.warning(
            "active champion cannot be loaded: training requested",
            extra={"model_id": current.id, "request_id": request.id},
        )
        session.expunge(request)
        return request


def get_request(session: Session, actor: Actor, request_id: int) -> TrainingRequest:
    access.require_role(actor, ADMINS, "reading a training request")
    request = session.get(TrainingRequest, request_id)
    if request is None:
        raise NotFound(f"training request {request_id} not found", field="request_id")
    return request


def confirm(session: Session, settings: Settings, actor: Actor, model_id: int) -> RiskModel:
    """Install a pending champion. Refused unless it is pending and the active one still cannot be
    loaded (a champion that loads is replaced only by training's own comparison)."""
    access.require_role(actor, ADMINS, "confirming a champion")
    stored = session.get(RiskModel, model_id)
    if stored is None:
        raise NotFound(f"model {model_id} not found", field="model_id")
    if stored.status != "pending":
        raise Conflict(f"model {model_id} is {stored.status}, not awaiting confirmation", field="model_id")
    current = training.active_model(session)
    if current is not None:
        try:
            training.load_artifact(settings, current)
        except ml.ArtifactInvalid:
            pass
        else:
            raise Conflict(
                f"the active champion {current.id} can be loaded again: train anew instead", field="model_id"
            )
    try:
        training.load_artifact(settings, stored)  # its own artifact must load, or confirming it helps nobody
    except ml.ArtifactInvalid as exc:
        raise Conflict(
            f"model {model_id} cannot be loaded either ({exc}): train anew", field="model_id"
        ) from exc
    return training.confirm(session, settings, actor, model_id, now())


def run_requested(sessions: Sessions, settings: Settings) -> TrainingRequest | None:
    """The worker's side: take the oldest request, train, and record what came of it. Safe to run twice
    at once: the request is claimed by a conditional update, and training holds its own lease."""
    with transaction(sessions) as session:
        request = session.scalars(
            select(TrainingRequest).where(TrainingRequest.status == "requested").order_by(TrainingRequest.id)
        ).first()
        if request is None:
            return None
        claimed = session.execute(
            update(TrainingRequest)
            .where(TrainingRequest.id == request.id, TrainingRequest.status == "requested")
            .values(status="running")
        ).rowcount  # type: ignore[attr-defined]
        request_id = request.id
    if not claimed:
        return None
    status, model_id, outcome = "done", None, ""
    try:
        result = training.train(sessions, settings, triggered_by=f"request {request_id}")
        model_id, outcome = result.model.id, f"{result.model.status}: {result.model.decision}"
    except ml.ColdStart as exc:
        outcome = f"cold start: {exc}"
    except training.AlreadyTraining:
        status, outcome = "requested", ""  # the running training ends first; this one waits its turn
    except Exception as exc:
        status, outcome = "failed", f"{type(exc).__name__}: {exc}"
        logger.exception("requested training failed", extra={"request_id": request_id})
    with transaction(sessions) as session:
        stored = session.get(TrainingRequest, request_id)
        assert stored is not None
        stored.status, stored.model_id, stored.outcome = status, model_id, outcome[:2000] or None
        stored.finished_at = None if status == "requested" else now()
        session.flush()
        session.expunge(stored)
    return stored
