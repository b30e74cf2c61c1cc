"""Read a query's result straight into numpy columns.

On PostgreSQL the query is copied out in binary and parsed by numpy in one step (every column is cast
to a fixed-width type in SQL and NULLs are replaced, so each row has the same layout); reading eight
million report rows this way takes seconds, where building Python rows would take minutes. Elsewhere
the rows are fetched and converted column by column.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Float, Integer, Select, cast, func, literal_column
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

Kind = Literal["int", "float"]
HEADER = b"PGCOPY\n\xff\r\n\x00"


@dataclass(frozen=True)
class Column:
    name: str
    expr: Any  # a column or SQL expression
    kind: Kind
    fill: float = np.nan  # stands for NULL (ints: use an int)


def days(expr: Any, dialect: str) -> ColumnElement[Any]:
    """A date as a day number (proleptic ordinal, as date.toordinal()); NULL stays NULL."""
    if dialect == "postgresql":
        return expr - func.to_date("0001-01-01", "YYYY-MM-DD") + 1  # type: ignore[no-any-return]
    return cast(func.julianday(expr) - 1721424.5, Integer)


def read(session: Session, stmt: Select[Any], columns: Sequence[Column]) -> dict[str, npt.NDArray[Any]]:
    """The rows of `stmt` (which selects exactly `columns`, in order) as one array per column."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _copy_binary(session, stmt, columns)
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


def _copy_binary(
    session: Session, stmt: Select[Any], columns: Sequence[Column]
) -> dict[str, npt.NDArray[Any]]:
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    chunks = []
    with cursor.copy(f"COPY ({compiled}) TO STDOUT (FORMAT binary)") as copy:
        for block in copy:
            chunks.append(bytes(block))
    data = b"".join(chunks)
    if not data.startswith(HEADER):
        raise RuntimeError("unexpected COPY header")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : -2]  # the trailer is a field count of -1
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, column in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (column.name, ">i8" if column.kind == "int" else ">f8")]
    dtype = np.dtype(fields)
    if len(body) % dtype.itemsize:
        raise RuntimeError("COPY rows are not of fixed width (a NULL was not filled?)")
    table = np.frombuffer(body, dtype=dtype)
    return {c.name: table[c.name].astype(np.int64 if c.kind == "int" else np.float64) for c in columns}
