"""Job functions for the scheduler: thin callers that own their transactions (services never open one),
safe to run twice at once."""

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.clock import local_now, local_today
from app.config import get_settings
from app.db import get_sessionmaker, session_scope
from app.errors import Conflict
from app.models import RiskRun
from app.risk import model, scorer, training
from app.services.cases import cases, escalation
from app.services.fieldwork import alerts
from app.services.imports import jobs as import_jobs
from app.services.platform import outbox
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.scoring import model_admin
from app.worker.crontab import cron

logger = logging.getLogger(__name__)


def _score(triggered_by: str) -> RiskRun:
    sessions, settings = get_sessionmaker(), get_settings()
    return scorer.score_all(sessions, settings, as_of=local_today(), triggered_by=triggered_by)


def nightly_scoring() -> None:
    try:
        run = _score("schedule")
        logger.info("scoring run completed", extra={"run_id": run.id, "high": run.flagged_high})
        _open_cases(run.id)
        if run.mode == "rules":
            model_admin.retrain_if_unusable(get_sessionmaker(), get_settings())
    except scorer.AlreadyRunning:
        logger.info("scoring skipped: another run is in progress")


def requested_scoring() -> None:
    """Run what an admin asked for through the API (POST /api/v1/risk/runs)."""
    with session_scope() as session:
        if not scorer.has_request(session):
            return
    try:
        run = _score("request")
        _open_cases(run.id)
    except scorer.AlreadyRunning:
        logger.info("requested run waits: another run is in progress")


def scheduled_training() -> None:
    """Retrain on schedule; the new model is installed only if it is not worse (training.py)."""
    try:
        outcome = training.train(get_sessionmaker(), get_settings(), triggered_by="schedule")
        logger.info("model trained", extra={"model_id": outcome.model.id, "status": outcome.model.status})
    except model.ColdStart as exc:
        logger.info("training skipped: cold start", extra={"reason": str(exc)})
    except training.AlreadyTraining:
        logger.info("training skipped: another training is in progress")


def requested_training() -> None:
    """Train when an admin asked through the API (POST /api/v1/risk/model/training)."""
    request = model_admin.run_requested(get_sessionmaker(), get_settings())
    if request is not None:
        logger.info("requested training", extra={"request_id": request.id, "status": request.status})


def _open_cases(run_id: int) -> None:
    counts = cases.open_for_run(get_sessionmaker(), get_settings(), run_id)
    logger.info("cases from scoring run", extra={"run_id": run_id, **counts})


def escalate_cases() -> None:
    """Overdue steps, escalated once each (safe to run twice at once: services/cases/escalation.py)."""
    with session_scope() as session:
        count = escalation.escalate_overdue(session, get_settings())
    if count:
        logger.info("cases escalated", extra={"count": count})


def cluster_alerts() -> None:
    """Many households hit at once: alert the township and district once per window (a unique key
    drops the second of two detections at once)."""
    with session_scope() as session:
        _, policy = policy_service.current_data(session)
        raised = alerts.detect(session, policy, local_today())
    if raised:
        logger.info("cluster alerts raised", extra={"count": len(raised)})


def deliver_webhooks() -> None:
    """Post due outbox messages; claimed ones are skipped, so two workers never post one at once."""
    sent = outbox.deliver_due(session_scope, get_settings())
    if sent:
        logger.info("webhook messages delivered", extra={"count": sent})


def weekly_risk_list() -> None:
    """Freeze this week's list unless it exists (safe twice at once: a lock held by the generating
    transaction, and a unique index on the week's current list)."""
    from app.services.lists import risk_list_generation, risk_lists

    week = risk_lists.week_of(local_today())
    try:
        with session_scope() as session:
            made = risk_list_generation.generate(session, get_settings(), Actor.system("schedule"), week)
            logger.info("risk list frozen", extra={"week": week, "entries": made.entries})
    except risk_list_generation.Busy:
        logger.warning("risk list not generated: another generation is running", extra={"week": week})
    except Conflict as exc:
        logger.info("risk list not generated", extra={"week": week, "reason": exc.message})


def risk_list_catch_up() -> None:
    """Hourly: once this week's scheduled freeze is past, freeze the week if it still has no list (the
    worker was down at the time, or another generation was running)."""
    from app.models import RiskList
    from app.services.lists import risk_lists

    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    now = local_now()
    monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time(), zone)
    due = cron(settings.risk_list_cron, settings.timezone).get_next_fire_time(None, monday)
    if due is None or now < due:
        return
    week = risk_lists.week_of(now.date())
    with session_scope() as session:
        exists = session.scalar(
            select(RiskList.id).where(RiskList.week == week, RiskList.status == "current")
        )
    if exists is None:
        logger.warning("risk list missed its schedule: generating it now", extra={"week": week})
        weekly_risk_list()


def deliver_relief_messages() -> None:
    """Post the relief platform's due messages, in order per application (relief/relief_outbox.py)."""
    from app.services.relief import relief_outbox

    sent = relief_outbox.deliver_due(session_scope, get_settings())
    if sent:
        logger.info("relief messages delivered", extra={"count": sent})


def run_imports() -> None:
    """Imports sent through the API, one after the other (a claimed job is never run twice at once)."""
    sessions, settings = get_sessionmaker(), get_settings()
    while (job := import_jobs.run_next(sessions, settings)) is not None:
        logger.info("import done", extra={"import_id": job.id, "status": job.status})
    import_jobs.drop_old_files(sessions, settings)
