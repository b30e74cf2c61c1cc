"""One page of a query's rows, and how many rows there are in all."""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.schemas.common import PageParams


def page_of(session: Session, stmt: Select[Any], page: PageParams, *order: Any) -> tuple[list[Any], int]:
    """The rows of `stmt` on `page`, in `order`, and the total across all pages."""
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(*order).offset(page.offset).limit(page.page_size)).all()
    return list(rows), int(total)
