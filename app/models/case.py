"""Cases: a household's way from a signal (a flag, a cadre's report, a department's list, its own
application) through verification to a decision. At most one open case per household, enforced by the
database (a partial unique index), not only by the code."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Case(Base):
    __tablename__ = "case_file"  # "case" is an SQL keyword

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    township_code: Mapped[str] = mapped_column(String(12), index=True)
    # risk_scorer | cadre_report | department | self_application
    source: Mapped[str] = mapped_column(String(24))
    # identification (识别) or elimination (风险消除: 帮扶消除 / 自然消除); both run the same steps
    kind: Mapped[str] = mapped_column(String(16), default="identification", server_default="identification")
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    # village_verification | democratic_review | public_notice | township_review | district_decision
    step: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(12))  # confirmed | rejected | withdrawn
    level: Mapped[str | None] = mapped_column(String(8))  # the highest level among its signals
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    step_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(index=True)  # the current level's window ends
    decision_due_at: Mapped[datetime]  # the policy's days from the first signal to the decision
    closed_at: Mapped[datetime | None]
    notice_ends_on: Mapped[date | None]  # 公示 ends; township approval is possible from then
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # the step whose deadline passed and was escalated (each step is escalated once)
    escalated_step: Mapped[str | None] = mapped_column(String(24))
    # the household's monitoring status when an identification opened: where a refusal or a withdrawal
    # returns it (风险消除 stays 风险消除 when a re-flag is not confirmed)
    prior_status: Mapped[str | None] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index(
            "uq_case_file_one_open_per_household",
            "household_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class CaseEvent(Base):
    """The case's timeline: every signal and transition, who, when, with its fields."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(24))
    step: Mapped[str] = mapped_column(String(24))  # the step the case was at when it happened
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Signal(Base):
    """One signal about a household and what became of it (kept even when it opened nothing)."""

    __tablename__ = "case_signal"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    source: Mapped[str] = mapped_column(String(24))
    level: Mapped[str | None] = mapped_column(String(8))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # opened | attached | monitored (on the monitoring record) | suppressed | unmatched | recorded (below a
    # department's threshold: on the household's record, no case)
    outcome: Mapped[str] = mapped_column(String(12))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    origin: Mapped[str] = mapped_column(String(80), default="")  # e.g. "risk_run:12", "医保.csv line 3"
    # a department's row that matched no one, or could not be read: kept (encrypted) for review
    id_number_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    sent_by: Mapped[str | None] = mapped_column(String(80))  # who sent it (a user, or system:…)
    # the department a department's row came from (医保, 民政 …): what that department may read follows it
    department: Mapped[str | None] = mapped_column(String(16), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # the row's amount (e.g. self-pay)
    # an unmatched row's person (the keyed look-up hash, never the number): their later rows add up
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class Referral(Base):
    """交有关部门: a monitored household's need handed to the department that owns the measure (民政 for
    低保, 医保 for 医疗救助, 人社 for a job …), which accepts it and answers with the outcome; a granted
    answer becomes the household's assistance measure."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    department: Mapped[str] = mapped_column(String(16), index=True)
    measure_category: Mapped[str] = mapped_column(String(16))
    need: Mapped[str] = mapped_column(String(500))  # what the household needs, in the referrer's words
    status: Mapped[str] = mapped_column(String(12), default="referred")  # accepted | granted | refused
    referred_by: Mapped[str] = mapped_column(String(80))
    referred_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_by: Mapped[str | None] = mapped_column(String(80))
    accepted_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[datetime | None]
    answered_on: Mapped[date | None]  # the department's own date for the outcome
    answer: Mapped[str | None] = mapped_column(String(500))
    assistance_id: Mapped[int | None] = mapped_column(ForeignKey("assistance.id"))


class Notification(Base):
    """A user's notification: new work, a case returned, an escalation. Never personal data."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # new_work | returned | escalated | assigned | cluster_alert
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))  # none for a cluster alert
    step: Mapped[str] = mapped_column(String(24))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("cluster_alert.id"))
    # a cluster alert's words: the region, how many households, the main reason (never a name)
    text: Mapped[str | None] = mapped_column(String(200))
    read_at: Mapped[datetime | None]


class Assistance(Base):
    """A measure for a monitored household (帮扶措施)."""

    __tablename__ = "assistance"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    item: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(40))
    started_on: Mapped[date]
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(12))  # planned | in_progress | done | stopped
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
