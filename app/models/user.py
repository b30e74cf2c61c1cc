from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin
from app.models.enums import Role
from app.models.types import str_enum


class User(TimestampMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)
    # a department account's department (医保, 民政 …, one of the policy's departments); None for others
    department: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    # Bumped on deactivation and password change: every token carrying an older value is refused.
    token_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class RefreshFamily(Base):
    """The refresh tokens descended from one login (a session on one device).

    Each refresh spends the current token and issues the next; presenting a spent one means a copy
    exists somewhere, so the family is revoked. Access tokens carry the family too and die with it.
    """

    __tablename__ = "refresh_family"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime]
    current_jti: Mapped[str] = mapped_column(String(32))
    current_expires_at: Mapped[datetime]
    # The token the current one replaced, honoured for a short grace after `rotated_at`: a phone whose
    # answer was lost retries with it (see Settings.refresh_reuse_grace_seconds).
    previous_jti: Mapped[str | None] = mapped_column(String(32))
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
