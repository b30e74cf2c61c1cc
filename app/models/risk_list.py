"""Weekly risk lists: a frozen snapshot per ISO week of every household at high or medium risk, with an
open case, or monitored — what the district office works from. Entries are written once and never
changed; regenerating a week keeps the old list, marked superseded."""

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class RiskList(Base):
    __tablename__ = "risk_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8), index=True)  # ISO week, "2026-W48"
    status: Mapped[str] = mapped_column(String(12), default="current")  # current | superseded
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    generated_by: Mapped[str] = mapped_column(String(80))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("risk_run.id", ondelete="SET NULL"))
    policy_version: Mapped[int] = mapped_column(ForeignKey("policy_version.version"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("risk_list.id"))  # compared against
    entries: Mapped[int] = mapped_column(default=0)  # on the list (resolved entries not counted)
    resolved: Mapped[int] = mapped_column(default=0)
    # days from opening to decision of the cases decided in the 7 days before, by township
    decision_days: Mapped[dict[str, list[int]]] = mapped_column(JSON, default=dict)
    superseded_at: Mapped[datetime | None]
    superseded_by: Mapped[str | None] = mapped_column(String(80))
    # made since helpers were recorded: before, "no helper" on an entry meant nothing
    helpers_recorded: Mapped[bool] = mapped_column(default=True, server_default=false())

    __table_args__ = (
        Index(
            "uq_risk_list_one_current_per_week",
            "week",
            unique=True,
            sqlite_where=text("status = 'current'"),
            postgresql_where=text("status = 'current'"),
        ),
    )


class RiskListEntry(Base):
    """One household on a week's list (or, with change `resolved`, one that left it since last week)."""

    __tablename__ = "risk_list_entry"

    list_id: Mapped[int] = mapped_column(ForeignKey("risk_list.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32))
    township_code: Mapped[str] = mapped_column(String(12))
    township_name: Mapped[str] = mapped_column(String(64))
    village_code: Mapped[str] = mapped_column(String(12))
    village_name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(200))
    head_name: Mapped[str | None] = mapped_column(String(50))
    # the head's ID number as stored when the list was made (encrypted); exports show it masked
    head_id_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # and masked as the lists show it, computed when the list was made (an export decrypts nothing);
    # null in lists made before it was kept, whose exports mask the encrypted number
    head_id_masked: Mapped[str | None] = mapped_column(String(18))
    household_type: Mapped[str] = mapped_column(String(16))
    monitoring_category: Mapped[str] = mapped_column(String(16))
    monitoring_status: Mapped[str] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(8))  # high | medium | low; null: not scored
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text, default="")  # Chinese labels with their values
    reason_codes: Mapped[str] = mapped_column(String(400), default="")  # "|income_below_line|…|"
    risk_types: Mapped[str] = mapped_column(String(200), default="")  # "|因病|因学|"
    case_id: Mapped[int | None]
    case_step: Mapped[str | None] = mapped_column(String(24))
    case_days_open: Mapped[int | None]
    overdue: Mapped[bool] = mapped_column(default=False)
    measures: Mapped[str] = mapped_column(Text, default="")
    risk_types_without_measure: Mapped[int] = mapped_column(default=0)  # confirmed types, no measure
    risk_types_confirmed: Mapped[int] = mapped_column(default=0)
    change: Mapped[str] = mapped_column(String(12))  # new | continuing | level_up | level_down | resolved
    previous_level: Mapped[str | None] = mapped_column(String(8))
    # why a resolved entry left: risk_eliminated | case_rejected | case_withdrawn | score_fell | other
    resolved_reason: Mapped[str | None] = mapped_column(String(16))
    # the household's helper (帮扶责任人) when the list was made; none for a monitored one is a gap
    helper_id: Mapped[int | None]
    helper_name: Mapped[str | None] = mapped_column(String(50))

    __table_args__ = (
        Index("ix_risk_list_entry_order", "list_id", "township_code", "village_code", "household_no"),
    )
