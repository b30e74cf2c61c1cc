"""Read a query's result straight into numpy columns.

On PostgreSQL every column is cast to a fixed-width type with NULLs replaced, and the server packs each
column into one bytea (string_agg of int8send / float8send) that numpy unpacks in one step: no Python
object per value, and no message per row (COPY TO sends one per row, which cost more than the query).
Elsewhere the rows are fetched and converted column by column.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Float, Integer, Select, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

Kind = Literal["int", "float"]


@dataclass(frozen=True)
class Column:
    name: str
    expr: Any  # a column or SQL expression
    kind: Kind
    fill: float = np.nan  # stands for NULL (ints: use an int)


def days(expr: Any, dialect: str) -> ColumnElement[Any]:
    """A date as a day number (proleptic ordinal, as date.toordinal()); NULL stays NULL."""
    if dialect == "postgresql":
        return expr - literal_column("DATE '0001-01-01'") + 1  # type: ignore[no-any-return]
    return cast(func.julianday(expr) - 1721424.5, Integer)


def read(session: Session, stmt: Select[Any], columns: Sequence[Column]) -> dict[str, npt.NDArray[Any]]:
    """The rows of `stmt` (which selects exactly `columns`, in order) as one array per column."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _aggregated(session, stmt, columns)
    rows = connection.execute(stmt).all()
    out: dict[str, npt.NDArray[Any]] = {}
    for i, column in enumerate(columns):
        values = [row[i] for row in rows]
        if column.kind == "int":
            out[column.name] = np.array(
                [column.fill if v is None else v for v in values], dtype=np.int64
            ).reshape(len(rows))
        else:
            out[column.name] = np.array(
                [column.fill if v is None else float(v) for v in values], dtype=np.float64
            ).reshape(len(rows))
    return out


def select_columns(columns: Sequence[Column], dialect: str) -> list[ColumnElement[Any]]:
    """The select list for `columns`: on PostgreSQL cast to fixed-width types with NULLs filled."""
    if dialect != "postgresql":
        return [c.expr.label(c.name) for c in columns]
    return [
        func.coalesce(cast(c.expr, BigInteger), int(c.fill)).label(c.name)
        if c.kind == "int"
        else func.coalesce(cast(c.expr, Float(precision=53)), _float_literal(c.fill)).label(c.name)
        for c in columns
    ]


def _float_literal(value: float) -> ColumnElement[Any]:
    return literal_column("'NaN'::float8" if np.isnan(value) else f"{float(value)!r}::float8")


def _aggregated(
    session: Session, stmt: Select[Any], columns: Sequence[Column]
) -> dict[str, npt.NDArray[Any]]:
    """One row back: each column's values packed by PostgreSQL into a bytea of big-endian 8-byte
    numbers (string_agg over int8send / float8send), unpacked by numpy. All aggregates of one query see
    the rows in the same order, so the columns line up; the caller sorts if it needs an order."""
    rows = stmt.subquery()
    packed = [
        func.string_agg(
            func.int8send(rows.c[c.name]) if c.kind == "int" else func.float8send(rows.c[c.name]),
            literal_column("''::bytea"),
        )
        for c in columns
    ]
    values = session.execute(select(*packed)).one()
    return {
        c.name: np.frombuffer(v or b"", dtype=">i8" if c.kind == "int" else ">f8").astype(
            np.int64 if c.kind == "int" else np.float64
        )
        for c, v in zip(columns, values, strict=True)
    }
