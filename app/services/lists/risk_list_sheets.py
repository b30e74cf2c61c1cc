"""A big list's township sheets written by two processes.

A county's weekly list as a workbook is Python work for every cell: a million-household county's list is
180,000 rows of 22 cells, five seconds in one process. From PARALLEL_FROM entries on, another process
writes some townships' rows while this one writes the summary and the other townships': each of its
townships goes, as the sheet's own XML (xlsx_rows.RowXml), into a file that the sheet then takes whole
(xlsx_rows.RowSheet.append_rows). Below that a second interpreter's start (0.8 s) would not pay.
"""

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing import get_context, parent_process
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import IO

from sqlalchemy import func
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Sessions
from app.models import RiskListEntry
from app.services.lists import risk_list_export, risk_lists
from app.services.lists.risk_list_export import TOWNSHIP_CODE
from app.services.lists.risk_lists import Filters
from app.services.lists.xlsx_rows import RowXml
from app.services.platform.access import Actor

PARALLEL_FROM = 40_000
# the most of the rows the other process takes: it starts 0.8 s late, but this one also writes the
# summary and packs the workbook (at 1M households, 32 % took 4.3 s, 40 % 4.0 s, 49 % 3.8–4.0 s, 55 % 4.3 s)
OTHER_SHARE = 0.5


@dataclass(frozen=True)
class Township:
    code: str
    name: str
    entries: int


@dataclass(frozen=True)
class Written:
    """A township's rows written into a file, numbered from 1 (below the sheet's header)."""

    code: str
    rows: int
    path: Path


def townships(session: Session, list_id: int, actor: Actor, filters: Filters) -> list[Township]:
    """The townships holding entries that pass the filters, in the list's order, with their counts."""
    stmt = (
        risk_lists.entries(
            list_id,
            actor,
            filters,
            RiskListEntry.township_code,
            func.min(RiskListEntry.township_name),
            func.count(),
        )
        .order_by(None)
        .group_by(RiskListEntry.township_code)
        .order_by(RiskListEntry.township_code)
    )
    return [Township(code, name, count) for code, name, count in session.execute(stmt)]


def split(towns: list[Township]) -> tuple[list[Township], list[Township]]:
    """(this process's townships, the other's), each in the list's order: the other takes the biggest that
    fit in its share; nothing when the list is small or a single township."""
    total = sum(t.entries for t in towns)
    if total < PARALLEL_FROM or len(towns) < 2:
        return towns, []
    theirs: set[str] = set()
    taken = 0
    for town in sorted(towns, key=lambda t: -t.entries):
        if taken + town.entries <= OTHER_SHARE * total:
            theirs.add(town.code)
            taken += town.entries
    return [t for t in towns if t.code not in theirs], [t for t in towns if t.code in theirs]


def only(filters: Filters, towns: list[Township]) -> Filters:
    return replace(filters, townships=tuple(t.code for t in towns))


# the other process's entry point (app/apart.township_rows): it opens that process's engine and calls
# write_rows
Entry = Callable[[Settings, int, Actor, Filters, str], list[Written]]


@contextmanager
def other_process(
    entry: Entry | None,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    towns: list[Township],
) -> Iterator["AsyncResult[list[Written]] | None"]:
    """The other process writing `towns`' rows (None when there are none to write); stopped if the
    workbook is given up before it is done. Its files are removed when the workbook is done."""
    if entry is None or not towns:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="shouwang-sheets-") as folder:
        pool = get_context("spawn").Pool(1)
        try:
            yield pool.apply_async(entry, (settings, list_id, actor, only(filters, towns), folder))
            pool.close()
        finally:
            pool.terminate()  # (done by now, unless the workbook failed: then it stops where it is)
            pool.join()


def write_rows(
    sessions: Sessions, settings: Settings, list_id: int, actor: Actor, filters: Filters, folder: str
) -> list[Written]:
    """In the other process (app/apart.py): the filters' rows, a file per township, as the sheets' XML."""
    parent = parent_process()
    rows = RowXml()
    written: list[Written] = []
    out: IO[str] | None = None
    code, number = "", 0
    try:
        for batch in risk_list_export.stream(sessions, settings, list_id, actor, filters):
            if parent is not None and not parent.is_alive():  # nobody waits for these rows any more
                raise RuntimeError("the workbook's process is gone")
            for row in batch:
                if row[TOWNSHIP_CODE] != code:
                    if out is not None:
                        out.close()
                        written.append(Written(code, number, Path(out.name)))
                    code, number = row[TOWNSHIP_CODE], 0
                    rows.clear()
                    out = open(Path(folder) / f"{code}.xml", "w", encoding="utf-8")  # noqa: SIM115
                number += 1
                out.write(rows.row(number, risk_list_export.cells(row)))  # type: ignore[union-attr]
    finally:
        if out is not None:
            out.close()
    if out is not None:
        written.append(Written(code, number, Path(out.name)))
    return written
