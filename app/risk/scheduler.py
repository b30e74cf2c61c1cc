"""APScheduler set-up for `shouwang worker` (and, in the single-process demo only, `serve`)."""

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.config import Settings
from app.risk import jobs

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron(expression: str, timezone: str) -> CronTrigger:
    """A crontab line as cron reads it. APScheduler 3 numbers weekdays from Monday = 0, so "* * * * 1"
    would fire on Tuesdays: numeric weekdays are given to it as names (0 and 7 are Sunday)."""
    fields = expression.split()
    if len(fields) == 5:
        fields[4] = ",".join(_day_names(part) for part in fields[4].split(","))
    return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)


def _day_names(part: str) -> str:
    base, slash, step = part.partition("/")
    named = "-".join(DAYS[int(d) % 7] if d.isdigit() else d for d in base.split("-"))
    return named + slash + step


def add_jobs(scheduler: BaseScheduler, settings: Settings) -> None:
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600, "replace_existing": True}
    scheduler.add_job(
        jobs.nightly_scoring,
        cron(settings.risk_schedule_cron, settings.timezone),
        id="nightly_scoring",
        **common,
    )
    scheduler.add_job(
        jobs.scheduled_training,
        cron(settings.risk_train_cron, settings.timezone),
        id="scheduled_training",
        **common,
    )
    scheduler.add_job(
        jobs.weekly_risk_list,
        cron(settings.risk_list_cron, settings.timezone),
        id="weekly_risk_list",
        **common,
    )
    scheduler.add_job(jobs.risk_list_catch_up, IntervalTrigger(hours=1), id="risk_list_catch_up", **common)
    scheduler.add_job(
        jobs.deliver_relief_messages,
        IntervalTrigger(seconds=settings.relief_poll_seconds),
        id="relief_delivery",
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
