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


def hit(session: Session, key: str, window: timedelta) -> None:
    session.execute(delete(RateEvent).where(RateEvent.key == key, RateEvent.occurred_at <= utcnow() - window))
    session.add(RateEvent(key=key))
    session.flush()
