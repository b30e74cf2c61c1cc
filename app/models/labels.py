"""Verifier decisions as labelled examples: the ground truth a district produces."""

from datetime import date, datetime

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class LabelledExample(Base):
    """An identification case decided confirmed or rejected (核实认定 / 不予认定), kept with what was known
    when its first signal opened it: the household's features on record then, and the scorer's opinion
    in the run in force then. One per case; written in the transaction that closes the case.

    `features` holds the model's features by name (app/risk/features.py MODEL_FEATURES; null where
    unknown), so a later feature list reads the ones it shares. `features_exact` is false when a report
    on record at the signal was corrected after it: the reader cannot read the superseded report back,
    so the features miss it."""

    __tablename__ = "labelled_example"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    township_code: Mapped[str] = mapped_column(String(12), index=True)
    case_source: Mapped[str] = mapped_column(String(24))  # risk_scorer | cadre_report | department | …
    signal_at: Mapped[datetime]  # the case opened: its first signal
    signal_on: Mapped[date]  # that moment's local date: the day the features are known on
    outcome: Mapped[str] = mapped_column(String(12))  # confirmed | rejected: the label
    decided_at: Mapped[datetime]
    decided_on: Mapped[date] = mapped_column(index=True)  # that moment's local date
    decided_step: Mapped[str] = mapped_column(String(24))  # district_decision, or a disagreeing review
    # the run in force at the signal, and the household's result in it (null: not scored)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("risk_run.id", ondelete="SET NULL"))
    level: Mapped[str | None] = mapped_column(String(8))  # high | medium | low, as the run published it
    rules_level: Mapped[str | None] = mapped_column(String(8))  # the rules' reasons alone: high | medium
    score: Mapped[float | None] = mapped_column(Float)  # the champion's probability (null: rules mode)
    # the champion's own flag: its probability against the run's policy cut-offs (null: none, or a
    # rules champion, which only ranks)
    model_level: Mapped[str | None] = mapped_column(String(8))
    model_version: Mapped[str | None] = mapped_column(String(64))  # the run's champion (risk_model id)
    champion: Mapped[str | None] = mapped_column(String(24))  # model | logistic_regression | …
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy_version.version"))  # of the features
    features: Mapped[dict[str, float | None]] = mapped_column(JSON)
    features_exact: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
