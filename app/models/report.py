from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin
from app.models.enums import DisasterType, EventKind, HousingGrade
from app.models.types import str_enum

Money = Numeric(14, 2)


class Report(TimestampMixin, Base):
    """An immutable, dated indicator report (监测指标) for one period of up to 12 months.

    Never updated: a correction is a new report that supersedes this one (supersedes_id).
    Incomes are for the period, not annual: 工资性, 生产经营性 (gross), 财产性, 转移性 收入 and
    生产经营性支出; spending_* are 合规自付支出.
    """

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    client_ref: Mapped[str] = mapped_column(String(64))
    body_hash: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date]
    period_end: Mapped[date]
    wages: Mapped[Decimal] = mapped_column(Money)
    business: Mapped[Decimal] = mapped_column(Money)
    property: Mapped[Decimal] = mapped_column(Money)
    transfer: Mapped[Decimal] = mapped_column(Money)
    production_cost: Mapped[Decimal] = mapped_column(Money)
    insurance_payout: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    spending_medical: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    spending_education: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    housing_grade: Mapped[HousingGrade | None] = mapped_column(str_enum(HousingGrade, 1))
    drinking_water_safe: Mapped[bool | None]
    food_secure: Mapped[bool | None]
    clothing_secure: Mapped[bool | None]
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    events: Mapped[list["ReportEvent"]] = relationship(lazy="raise", order_by="ReportEvent.id")

    __table_args__ = (
        UniqueConstraint("household_id", "client_ref"),
        Index("ix_report_created_at", "created_at"),  # a month's reports sent (screening coverage)
    )


class ReportEvent(Base):
    """A sudden event (突发事件) stated in a report, with its date and loss."""

    __tablename__ = "report_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, 24))
    disaster_type: Mapped[DisasterType | None] = mapped_column(str_enum(DisasterType, 8))
    occurred_on: Mapped[date]
    loss: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
