from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class RiskRun(Base):
    """One scoring of every household. Results become current only when the run completes, so a run that
    dies half-way leaves the previous run's results in force."""

    __tablename__ = "risk_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    # requested (by an admin, for the worker) | running | completed | failed
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    as_of: Mapped[date]
    # "rules" (no champion yet, or it cannot be loaded), "model" (a learned champion) or "baseline"
    mode: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy_version.version"))
    model_version: Mapped[str | None] = mapped_column(String(64))  # the installed champion's id
    # the scorer the run used: model | logistic_regression | distance_to_line | rules
    champion: Mapped[str | None] = mapped_column(String(24))
    triggered_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    households_scored: Mapped[int] = mapped_column(default=0)
    flagged_high: Mapped[int] = mapped_column(default=0)
    flagged_medium: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)


class RiskResult(Base):
    """A household's level, score and reasons in one run."""

    __tablename__ = "risk_result"

    run_id: Mapped[int] = mapped_column(ForeignKey("risk_run.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(8))  # high|medium|low
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # "|income_below_line|water_unsafe|": lets household lists filter by reason on any database
    reason_codes: Mapped[str] = mapped_column(String(400), default="")
    # the model's top contributing factors (feature, value, effect, text); null in rules mode
    factors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_risk_result_household_id_run_id", "household_id", "run_id"),)


class JobLease(Base):
    """Who runs a job now, until when: one run at a time across processes and machines (a killed holder's
    lease simply expires)."""

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    lease_until: Mapped[datetime]


class RiskModel(Base):
    """A training's champion — the learned model or a baseline — with its artifact, what it was trained
    on, how every scorer did, and whether it is the one in use. Artifacts are verified by hash and keyed
    signature before they are loaded."""

    __tablename__ = "risk_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    # active (in use; at most one) | retired (replaced) | rejected (scored worse than the active one) |
    # pending (would replace an active one that cannot be loaded: waits for an admin's confirmation)
    status: Mapped[str] = mapped_column(String(16), index=True)
    champion: Mapped[str] = mapped_column(String(24), default="model", server_default="model")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy_version.version"))
    estimator: Mapped[str] = mapped_column(String(200))
    sklearn_version: Mapped[str] = mapped_column(String(32))
    features: Mapped[list[str]] = mapped_column(JSON)
    train_from: Mapped[date]
    train_to: Mapped[date]
    test_period: Mapped[date]
    examples_train: Mapped[int]
    examples_test: Mapped[int]
    positives_test: Mapped[int]
    # model and baselines: metric → {value, low, high}; recall at 10 % by township
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(Text)  # why it is (or is not) in use, in words
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_risk_model_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class TrainingRequest(Base):
    """An admin's request for a training, done by the worker (training takes minutes: not in a request)."""

    __tablename__ = "risk_training_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    # requested | running | done | failed (done: a champion was stored, whatever its status)
    status: Mapped[str] = mapped_column(String(12), default="requested", index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    model_id: Mapped[int | None] = mapped_column(ForeignKey("risk_model.id"))
    outcome: Mapped[str | None] = mapped_column(String(2000))  # the decision, or why none was trained
