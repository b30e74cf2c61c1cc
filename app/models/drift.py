from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class RiskProfile(Base):
    """How the model's inputs and scores were distributed (app/risk/drift.py): counts per township and
    bin, as JSON with the bins' cut points.

    kind "training": the training window of a model (the reference its scoring runs are compared with);
    kind "run": one completed scoring run, counted on the cuts of its reference (reference_id). A run
    with no reference (no training ever ran, no run before it) cuts its own bins and is the reference
    of the runs after it until a model is trained.
    """

    __tablename__ = "risk_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # training | run
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("risk_run.id", ondelete="CASCADE"), unique=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("risk_model.id", ondelete="CASCADE"), index=True)
    reference_id: Mapped[int | None] = mapped_column(ForeignKey("risk_profile.id", ondelete="SET NULL"))
    # the periods profiled: a training window's first and last period_end; a run's as_of, twice
    window_from: Mapped[date]
    window_to: Mapped[date]
    rows: Mapped[int]  # households (a run) or household-periods (a training window)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
