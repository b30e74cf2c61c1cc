"""When each job runs: APScheduler set-up for `shouwang worker` (and in the one-process demo, `serve`)."""

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry

from app import lifecycle
from app.config import Settings
from app.metrics import JobMetrics
from app.worker import jobs
from app.worker.crontab import cron

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[], None]
    trigger: Callable[[Settings], BaseTrigger]


JOBS = (
    Job("nightly_scoring", jobs.nightly_scoring, lambda s: cron(s.risk_schedule_cron, s.timezone)),
    Job("scheduled_training", jobs.scheduled_training, lambda s: cron(s.risk_train_cron, s.timezone)),
    Job("weekly_risk_list", jobs.weekly_risk_list, lambda s: cron(s.risk_list_cron, s.timezone)),
    Job("risk_list_catch_up", jobs.risk_list_catch_up, lambda _: IntervalTrigger(hours=1)),
    Job(
        "relief_delivery",
        jobs.deliver_relief_messages,
        lambda s: IntervalTrigger(seconds=s.relief_poll_seconds),
    ),
    Job("webhook_delivery", jobs.deliver_webhooks, lambda s: IntervalTrigger(seconds=s.webhook_poll_seconds)),
    Job(
        "case_escalation",
        jobs.escalate_cases,
        lambda s: IntervalTrigger(minutes=s.case_escalation_minutes),
    ),
    Job("cluster_alerts", jobs.cluster_alerts, lambda _: IntervalTrigger(hours=1)),
    Job("imports", jobs.run_imports, lambda s: IntervalTrigger(seconds=s.import_poll_seconds)),
    Job(
        "requested_scoring",
        jobs.requested_scoring,
        lambda s: IntervalTrigger(seconds=s.risk_request_poll_seconds),
    ),
    Job(
        "requested_training",
        jobs.requested_training,
        lambda s: IntervalTrigger(seconds=s.risk_request_poll_seconds),
    ),
)


def add_jobs(scheduler: BaseScheduler, settings: Settings, metrics: JobMetrics | None = None) -> None:
    # max_instances=1 within a process; across processes each job guards itself (leases, claims, locks)
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600, "replace_existing": True}
    measured_by = metrics or JobMetrics(CollectorRegistry())
    for job in JOBS:
        run = _measured(job.id, job.run, measured_by)
        scheduler.add_job(run, job.trigger(settings), id=job.id, name=job.id, **common)


def _measured(job_id: str, run: Callable[[], None], metrics: JobMetrics) -> Callable[[], None]:
    @functools.wraps(run)
    def measured() -> None:
        started = time.perf_counter()
        outcome = "error"
        try:
            run()
            outcome = "ok"
        except lifecycle.ShuttingDown:
            outcome = "stopped"  # SIGTERM: the job ended at a step, rolled back; not an error
            logger.info("job stopped: the worker is shutting down", extra={"job": job_id})
        finally:
            metrics.runs.labels(job_id, outcome).inc()
            metrics.duration.labels(job_id).observe(time.perf_counter() - started)

    return measured
