from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin
from app.models.enums import RegionLevel
from app.models.types import str_enum


class Region(TimestampMixin, Base):
    """A node of the county → township (乡镇/街道) → village (村/社区) tree.

    Keyed by the 12-digit statistical division code (统计用区划代码).
    """

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, 16), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    code_source: Mapped[str] = mapped_column(String(200), default="")
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
