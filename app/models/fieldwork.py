"""Field work: the helpers paired with monitored households (结对帮扶) and the visits to households
(走访), with their photos."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, utcnow


class Helper(TimestampMixin, Base):
    """帮扶责任人: a person (an official of a unit) paired with households; optionally a user account."""

    __tablename__ = "helper"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(100))
    phone_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    phone_masked: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    # the region of the account that registered the helper: who may change the helper's details
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class HelperAssignment(Base):
    """A helper paired with a household from a day until a day: reassigning ends one row and starts
    another, so the history is kept. At most one current assignment per household (a partial index)."""

    __tablename__ = "helper_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    helper_id: Mapped[int] = mapped_column(ForeignKey("helper.id"), index=True)
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
    assigned_by: Mapped[str] = mapped_column(String(80))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="period"),
        Index(
            "uq_helper_assignment_current",
            "household_id",
            unique=True,
            sqlite_where=text("ended_on IS NULL"),
            postgresql_where=text("ended_on IS NULL"),
        ),
    )


class Visit(Base):
    """走访记录: who went to a household on which day, why, and what they found. Never changed: a
    mistaken visit is corrected by recording another. Idempotent by the client's own id (offline)."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12))  # where the household was then
    visited_on: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16))  # routine | verification | follow_up | campaign
    visitors: Mapped[list[str]] = mapped_column(JSON)
    findings: Mapped[str] = mapped_column(String(2000), default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_ref: Mapped[str] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("case_signal.id"))  # the case it raised
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("household_id", "client_ref"),
        Index("ix_visit_village_code_visited_on", "village_code", "visited_on"),  # a village's month
    )


class VisitPhoto(Base):
    """A photo taken at a visit (a bill, the house). The image itself is encrypted and deferred: lists
    and the visit read only its description; the bytes are loaded when the photo itself is asked for."""

    __tablename__ = "visit_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), index=True)
    media_type: Mapped[str] = mapped_column(String(32))  # as found in the content, not as declared
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    content_encrypted: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("visit_id", "sha256"),)


class Campaign(Base):
    """集中排查: the district's campaign over some or all townships, for the households in scope (all
    registered, or those of some types and monitoring categories); each household in scope gets a task."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    townships: Mapped[list[str] | None] = mapped_column(JSON)  # null: the whole county
    # which households: any of these types or monitoring categories (both null: every registered one)
    household_types: Mapped[list[str] | None] = mapped_column(JSON)
    monitoring_categories: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    tasks: Mapped[int] = mapped_column(default=0)
    opened_by: Mapped[str] = mapped_column(String(80))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[datetime | None]
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # frozen when it closes

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period"),)


class FieldTask(Base):
    """A household to visit: for a campaign (within its period), or 回头看 after a risk elimination (due
    some months after it; a visit from a month before the day completes it). Done by the first such visit;
    a follow-up not done by its day is overdue."""

    __tablename__ = "field_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # campaign | follow_up
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12))
    township_code: Mapped[str] = mapped_column(String(12))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))  # the elimination followed up
    months: Mapped[int | None]  # a follow-up's months after the elimination
    opens_on: Mapped[date]  # visits from this day count
    due_on: Mapped[date]
    done_on: Mapped[date | None]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))

    __table_args__ = (
        UniqueConstraint("campaign_id", "household_id"),
        UniqueConstraint("case_id", "months"),
        Index("ix_field_task_campaign_village", "campaign_id", "village_code"),
        Index(
            "ix_field_task_open",
            "kind",
            "due_on",
            sqlite_where=text("done_on IS NULL"),
            postgresql_where=text("done_on IS NULL"),
        ),
    )


class ClusterAlert(Base):
    """Many households of one village or township hit at once (a flood, a factory closing, a disease):
    new signals within the policy's window over its threshold. Raised once per region and window."""

    __tablename__ = "cluster_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(8))  # village | township
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(12), index=True)
    window_start: Mapped[date]
    window_end: Mapped[date]
    households: Mapped[list[int]] = mapped_column(JSON)
    signals: Mapped[int]
    dominant_reason: Mapped[str] = mapped_column(String(40))
    reasons: Mapped[dict[str, int]] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    # two detections at once raise one alert: the second insert meets this and is dropped
    __table_args__ = (UniqueConstraint("region_code", "window_start"),)
