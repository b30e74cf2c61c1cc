"""Sliding-window rate limits kept in the database, so every API process shares them."""

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import RateEvent
from app.models.base import utcnow


def recent_count(session: Session, key: str, window: timedelta) -> int:
    since = utcnow() - window
    return (
        session.scalar(
            select(func.count())
            .select_from(RateEvent)
            .where(RateEvent.key == key, RateEvent.occurred_at > since)
        )
        or 0
    )


RETENTION = timedelta(days=1)


def hit(session: Session, key: str, window: timedelta) -> None:
    """Record one occurrence; drop this key's expired ones and anything older than a day (no window is
    longer), so the table stays small however many different keys are tried."""
    now = utcnow()
    session.execute(
        delete(RateEvent).where(
            ((RateEvent.key == key) & (RateEvent.occurred_at <= now - window))
            | (RateEvent.occurred_at <= now - max(window, RETENTION))
        )
    )
    session.add(RateEvent(key=key))
    session.flush()
