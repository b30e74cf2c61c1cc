from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class RateEvent(Base):
    """One occurrence of a rate-limited answer (e.g. "registered elsewhere"), kept for a sliding window."""

    __tablename__ = "rate_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_rate_event_key_occurred_at", "key", "occurred_at"),)
