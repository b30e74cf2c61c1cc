from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, utcnow
from app.models.enums import (
    DropoutReason,
    Employment,
    Health,
    HouseholdType,
    LabourCapacity,
    LeftReason,
    MemberFactKind,
    MonitoringCategory,
    MonitoringStatus,
    Relation,
    Schooling,
    SchoolLevel,
    Sex,
)
from app.models.types import str_enum


class Household(TimestampMixin, Base):
    """A registered rural household (户), the unit of monitoring.

    no_labour_capacity is 整户无劳动能力兜底保障户: no active member can work. It is recomputed by
    the service on every member change, never set by a client.
    """

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32), unique=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    household_type: Mapped[HouseholdType] = mapped_column(str_enum(HouseholdType, 16))
    monitoring_category: Mapped[MonitoringCategory] = mapped_column(
        str_enum(MonitoringCategory, 16), default=MonitoringCategory.none
    )
    monitoring_status: Mapped[MonitoringStatus] = mapped_column(
        str_enum(MonitoringStatus, 24), default=MonitoringStatus.not_monitored, index=True
    )
    no_labour_capacity: Mapped[bool] = mapped_column(default=False)
    # set when a case is confirmed (县级审定): the household's risk types (1–5) and since when monitored
    risk_types: Mapped[list[str] | None] = mapped_column(JSON)
    monitored_since: Mapped[date | None]
    # the day the risk was found eliminated (a confirmed elimination case, or an imported record)
    risk_eliminated_on: Mapped[date | None]
    # made from an application to the relief platform: its members are completed at the village's visit
    provisional: Mapped[bool] = mapped_column(default=False, server_default=false())
    # an offline draft's own id (per village) and a keyed hash of the body it was registered with: a
    # repeat of the same draft answers the stored household instead of registering it twice
    client_ref: Mapped[str | None] = mapped_column(String(64))
    client_body_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)

    members: Mapped[list["Member"]] = relationship(
        back_populates="household", lazy="raise", order_by="Member.id"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("village_code", "client_ref"),)


class HouseholdTypeCorrection(Base):
    """户类型 is registry history: the village proposes a correction with its reason, the township
    approves or rejects it; the household's type changes only on approval."""

    __tablename__ = "household_type_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    from_type: Mapped[HouseholdType] = mapped_column(str_enum(HouseholdType, 16))
    to_type: Mapped[HouseholdType] = mapped_column(str_enum(HouseholdType, 16))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default="proposed", index=True)  # approved | rejected
    proposed_by: Mapped[str] = mapped_column(String(80))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(500))


class Member(TimestampMixin, Base):
    """A person in a household. Leaving sets left_on/left_reason; the row is kept for history."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    id_number_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str] = mapped_column(String(64), index=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, 8))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, 2))
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date]
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]
    left_reason: Mapped[LeftReason | None] = mapped_column(str_enum(LeftReason, 8))
    labour_capacity: Mapped[LabourCapacity | None] = mapped_column(str_enum(LabourCapacity, 8))
    health: Mapped[Health | None] = mapped_column(str_enum(Health, 8))
    disability_grade: Mapped[int | None]
    schooling: Mapped[Schooling | None] = mapped_column(str_enum(Schooling, 8))
    school_level: Mapped[SchoolLevel | None] = mapped_column(str_enum(SchoolLevel, 8))
    dropout_reason: Mapped[DropoutReason | None] = mapped_column(str_enum(DropoutReason, 8))
    basic_medical_insurance: Mapped[bool | None]
    serious_illness_insurance: Mapped[bool | None]
    basic_pension: Mapped[bool | None]
    dibao: Mapped[bool | None]
    tekun: Mapped[bool | None]
    employment: Mapped[Employment | None] = mapped_column(str_enum(Employment, 8))
    migrant_months: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)

    household: Mapped[Household] = relationship(back_populates="members", lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # One person is an active member of at most one household, enforced by the database.
        Index(
            "uq_member_active_person",
            "id_number_hash",
            unique=True,
            sqlite_where=text("left_on IS NULL"),
            postgresql_where=text("left_on IS NULL"),
        ),
        # Exactly one active head: "at most one" here, "at least one" in the service.
        Index(
            "uq_member_active_head",
            "household_id",
            unique=True,
            sqlite_where=text("left_on IS NULL AND relation = '户主'"),
            postgresql_where=text("left_on IS NULL AND relation = '户主'"),
        ),
    )


class MemberFact(Base):
    """One dated fact about a member (health, labour capacity, disability grade, schooling, school level,
    dropout reason, 低保, 特困): `value` held from `valid_from` up to, not including, `valid_to` (null:
    still holds). The member's column of the same name shows the value that holds now. No fact for a day
    means nothing was recorded for it.

    Rows are never changed but for `superseded_at`: a change from a day ends what was recorded from then
    on by superseding those rows, writing what still holds before that day again with its end, and
    opening the new value, all in one transaction. So the rows with no superseded_at are the record as
    it stands, and the rows recorded by a moment and not superseded by then are the record as it stood
    at that moment. The risk panel reads a period's members as they were on its end (app/risk/
    panel_read.py): a fact that began later does not reach back into an earlier period's features.
    """

    __tablename__ = "member_fact"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    fact: Mapped[MemberFactKind] = mapped_column(str_enum(MemberFactKind, 20))
    # the member column's value as text: an enum's string, "1"-"4" for a grade, "true"/"false"
    value: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80))
    superseded_at: Mapped[datetime | None]

    __table_args__ = (
        # at most one fact of each kind per member that holds now: the one the member's column shows
        Index(
            "uq_member_fact_open",
            "member_id",
            "fact",
            unique=True,
            sqlite_where=text("valid_to IS NULL AND superseded_at IS NULL"),
            postgresql_where=text("valid_to IS NULL AND superseded_at IS NULL"),
        ),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period"),
    )
