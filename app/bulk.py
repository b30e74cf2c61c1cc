"""Bulk inserts: COPY on PostgreSQL (measured ~40 % faster than a pipelined executemany for 1,000
rows), a plain executemany elsewhere. Rows are dicts keyed by column name, already in Python types."""

import json
import operator
from collections.abc import Collection, Iterable, Iterator, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import JSON, BindParameter, Table, bindparam, insert, text
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Rows that leave out a column with a Python-side default get it, as an ORM insert would (COPY
    knows only the server's defaults)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    # the driver would write a plain Enum by its name (a StrEnum, every enum of the models, by its value)
    defaults = {k: v.value if isinstance(v, Enum) else v for k, v in _defaults(table, columns).items()}
    filled = tuple(defaults.values())
    values: Iterable[Sequence[Any]]
    if len(columns) == 1:
        values = ((row[columns[0]], *filled) for row in rows)
    else:
        row_values = operator.itemgetter(*columns)  # a tuple in the columns' order, whatever the dict's
        values = (row_values(row) + filled for row in rows)
    _copy_rows(session, table, [*columns, *defaults], values)


def insert_tuples(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    encoded: Collection[str] = (),
) -> None:
    """Rows as tuples of values in `columns`' order (no defaults filled), JSON columns as Python objects,
    or as JSON text already for the columns named in `encoded`. On PostgreSQL a COPY through the
    driver's row writer (in C: faster than formatting the text here, `copy_tuples`, for rows of mixed
    types)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        dicts = [dict(zip(columns, row, strict=True)) for row in rows]
        for values in dicts:
            for name in encoded:
                if values[name] is not None:
                    values[name] = json.loads(values[name])
        connection.execute(insert(table), dicts)
        return
    _copy_rows(session, table, columns, rows, encoded=encoded)


def _copy_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    encoded: Collection[str] = (),
) -> None:
    # only JSON needs converting here: the driver writes the rest, StrEnum members as their values (every
    # enum of the models is one, app/models/types.py; a plain Enum would be written by its name)
    json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON) and c not in encoded]
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        if not json_at:
            for row in rows:
                copy.write_row(row)
            return
        for row in rows:
            written = list(row)
            for i in json_at:
                written[i] = json.dumps(written[i], ensure_ascii=False)
            copy.write_row(written)


def insert_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """`insert_rows`, giving the new rows' ids in order: on PostgreSQL the ids are taken from the
    table's sequence first and the rows copied with them (a multi-row INSERT … RETURNING of thousands of
    rows spends longer in the driver's parsing of its placeholders than in the server)."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.execute(returning, list(rows)).scalars())
    ids = sorted(
        connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)},
        ).scalars()
    )
    insert_rows(session, table, [{"id": new_id, **row} for new_id, row in zip(ids, rows, strict=True)])
    return ids


def listed(name: str, values: Sequence[int] | Sequence[str]) -> BindParameter[Any]:
    """Values for an `IN (…)` of thousands, written into the statement instead of bound one by one: a
    placeholder each costs SQLAlchemy (naming them) and the driver (parsing them) more than the server
    takes to read the numbers. For a column whose type SQLAlchemy writes as a literal (integers, texts:
    ids and hashes); `name` must differ between two such lists in one statement."""
    return bindparam(name, list(values), expanding=True, literal_execute=True)


def _defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults of the columns not given: one value for the whole batch."""
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.key in given or default is None:
            continue
        if default.is_scalar:
            values[column.key] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            values[column.key] = default.arg(None)  # type: ignore[attr-defined]
    return values


def copy_tuples(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given as tuples of plain values (JSON columns as Python objects): on PostgreSQL one
    COPY text stream built in one pass, the fastest way to write a million result rows."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    is_json = [isinstance(table.c[c].type, JSON) for c in columns]
    _copy(
        session,
        table,
        columns,
        (
            "".join(
                "\t".join(copy_text(v, j) for v, j in zip(row, is_json, strict=True)) + "\n"
                for row in rows[start : start + COPY_SLICE]
            )
            for start in range(0, len(rows), COPY_SLICE)
        ),
    )


def copy_lines(session: Session, table: Table, columns: Sequence[str], lines: Sequence[str]) -> None:
    """Rows already in COPY's text format (PostgreSQL only), a line each, ending in a newline: for a
    caller that formats its rows faster than field by field (the scorer's, mostly alike)."""
    _copy(
        session,
        table,
        columns,
        ("".join(lines[start : start + COPY_SLICE]) for start in range(0, len(lines), COPY_SLICE)),
    )


def _copy(session: Session, table: Table, columns: Sequence[str], blocks: Iterator[str]) -> None:
    """One COPY, sent a block at a time: the server parses and indexes one while the next is made here."""
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for block in blocks:
            copy.write(block)


COPY_SLICE = 2000


def copy_text(value: Any, is_json: bool) -> str:
    """A value in COPY's text format: \\N for NULL; backslash, tab and line breaks escaped."""
    if value is None:
        return "\\N"
    if is_json:
        value = "[]" if value == [] else json.dumps(value, ensure_ascii=False)
    elif isinstance(value, Enum):
        value = value.value
    elif isinstance(value, bytes):
        return "\\\\x" + value.hex()  # bytea's hex input, its backslash escaped for COPY
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            return str(value).replace("\r", "\\r")
        return value
    return str(value)


def refresh_statistics(session: Session, tables: Sequence[str]) -> None:
    """After a bulk write, the planner's statistics of the tables written (PostgreSQL; autovacuum may be
    off, or late): plans made for the empty tables — a prepared statement's generic plan among them —
    would scan the grown table whole for each row. ANALYZE also drops those cached plans."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(tables)}"))
