"""APScheduler set-up for `shouwang worker` (and, in the single-process demo only, `serve`)."""

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.config import Settings
from app.risk import jobs


def add_jobs(scheduler: BaseScheduler, settings: Settings) -> None:
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600, "replace_existing": True}
    scheduler.add_job(
        jobs.nightly_scoring,
        CronTrigger.from_crontab(settings.risk_schedule_cron, timezone=settings.timezone),
        id="nightly_scoring",
        **common,
    )
    scheduler.add_job(
        jobs.scheduled_training,
        CronTrigger.from_crontab(settings.risk_train_cron, timezone=settings.timezone),
        id="scheduled_training",
        **common,
    )
    scheduler.add_job(
        jobs.weekly_risk_list,
        CronTrigger.from_crontab(settings.risk_list_cron, timezone=settings.timezone),
        id="weekly_risk_list",
        **common,
    )
    scheduler.add_job(
        jobs.deliver_webhooks,
        IntervalTrigger(seconds=settings.webhook_poll_seconds),
        id="webhook_delivery",
        **common,
    )
    scheduler.add_job(
        jobs.escalate_cases,
        IntervalTrigger(minutes=settings.case_escalation_minutes),
        id="case_escalation",
        **common,
    )
    scheduler.add_job(
        jobs.requested_scoring,
        IntervalTrigger(seconds=settings.risk_request_poll_seconds),
        id="requested_scoring",
        **common,
    )
