"""Crontab lines as cron reads them, for APScheduler."""

from apscheduler.triggers.cron import CronTrigger

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
