"""The "bare" baseline of issue 18's HTTP figures: FastAPI + SQLAlchemy and nothing of Shouwang.

One sync route reads a household row by id and its members (two SELECTs through an ORM session with
`selectinload`, as a minimal CRUD app would) and answers them as JSON through a pydantic response model.
No authentication, no region scoping, no masking, no middleware. The tables are declared here from the
schema (only the columns read), not imported from the app. Served the way `shouwang serve` serves the app:
one uvicorn process, no access log, the same engine settings (pool of 8, no overflow, pre-ping).

    .venv/bin/python bench/bare_app.py --port 8123 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/shouwang_bench_50k_http

bench/http_load.py starts it next to `shouwang serve` and loads both alike.
"""

import argparse
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)


class Base(DeclarativeBase):
    pass


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32))
    village_code: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(200))
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    household_type: Mapped[str] = mapped_column(String(16))
    monitoring_category: Mapped[str] = mapped_column(String(16))
    monitoring_status: Mapped[str] = mapped_column(String(24))
    no_labour_capacity: Mapped[bool]
    monitored_since: Mapped[date | None]
    risk_eliminated_on: Mapped[date | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    members: Mapped[list["Member"]] = relationship(order_by="Member.id", lazy="raise")


class Member(Base):
    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    name: Mapped[str] = mapped_column(String(50))
    relation: Mapped[str] = mapped_column(String(8))
    sex: Mapped[str] = mapped_column(String(2))
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date]
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]
    left_reason: Mapped[str | None] = mapped_column(String(8))
    labour_capacity: Mapped[str | None] = mapped_column(String(8))
    health: Mapped[str | None] = mapped_column(String(8))
    disability_grade: Mapped[int | None]
    schooling: Mapped[str | None] = mapped_column(String(8))
    employment: Mapped[str | None] = mapped_column(String(8))
    migrant_months: Mapped[int | None]
    version: Mapped[int]


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    relation: str
    sex: str
    ethnicity: str | None
    birth_date: date
    joined_on: date | None
    left_on: date | None
    left_reason: str | None
    labour_capacity: str | None
    health: str | None
    disability_grade: int | None
    schooling: str | None
    employment: str | None
    migrant_months: int | None
    version: int


class HouseholdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    household_no: str
    village_code: str
    address: str
    phone_masked: str | None
    household_type: str
    monitoring_category: str
    monitoring_status: str
    no_labour_capacity: bool
    monitored_since: date | None
    risk_eliminated_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    members: list[MemberOut]


def create_app(database_url: str, pool_size: int = 8) -> FastAPI:
    engine = create_engine(database_url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)
    sessions = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    app = FastAPI(title="bare household read", docs_url=None, redoc_url=None, openapi_url=None)

    def get_session() -> Iterator[Session]:
        with sessions() as session:
            yield session

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/households/{household_id}", response_model=HouseholdOut)
    def read_household(household_id: int, session: Annotated[Session, Depends(get_session)]) -> Any:
        household = session.scalars(
            select(Household).where(Household.id == household_id).options(selectinload(Household.members))
        ).one_or_none()
        if household is None:
            raise HTTPException(404, "household not found")
        return household

    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL of the district's database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool-size", type=int, default=8)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.database_url, args.pool_size),
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
