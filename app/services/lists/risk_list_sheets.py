"""A big list's township sheets written by two processes.

A county's weekly list as a workbook is Python work for every cell: a million-household county's list is
180,000 rows of 22 cells, five seconds in one process. From PARALLEL_FROM entries on, another process
writes some townships' rows while this one writes the summary and the other townships': each of its
townships goes, as the sheet's own XML (xlsx_rows.RowXml), into a file that the sheet then takes whole
(xlsx_rows.RowSheet.append_rows). Below that a second interpreter's start (0.8 s) would not pay.

The other process is spawned (a new interpreter: safe from a server's threads) and answers through a
pipe; if it dies without answering, the export fails instead of waiting, and if the export fails, it is
stopped. One process at a time starts one: a second export meanwhile writes all its sheets itself.
"""

import logging
import pickle
import shutil
import signal
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context, parent_process
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, Any

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

logger = logging.getLogger(__name__)
PARALLEL_FROM = 40_000
# the most of the rows the other process takes: it starts 0.8 s late, but this one also writes the
# summary and packs the workbook (at 1M households, 32 % took 4.3 s, 40 % 4.0 s, 49 % 3.8–4.0 s, 55 % 4.3 s)
OTHER_SHARE = 0.5
# one other process at a time from this process (two exports at once on a small server would each start
# an interpreter and fight over its cores)
_one_at_a_time = threading.BoundedSemaphore(1)
# how long the other process may take to end once it has answered (closing its engine, its interpreter)
ENDING_SECONDS = 10


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


# the other process's entry point (app/spawned.township_rows): it opens that process's engine and calls
# write_rows with (settings, list id, actor, filters, townships, folder)
Entry = Callable[[Settings, int, Actor, Filters, tuple[str, ...], str], list[Written]]


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


def numbered(batches: Iterable[list[Sequence[Any]]]) -> Iterator[tuple[Sequence[Any], int]]:
    """Each row with its number in its township's sheet, from 1: the rows come township by township."""
    code, number = None, 0
    for batch in batches:
        for row in batch:
            if row[TOWNSHIP_CODE] != code:
                code, number = row[TOWNSHIP_CODE], 0
            number += 1
            yield row, number


class Other:
    """The other process at work, and the pipe its answer comes back by."""

    def __init__(self, process: BaseProcess, answers: Connection) -> None:
        self.process = process
        self.answered = False
        self.exitcode: int | None = None  # once it has ended and been let go
        self._answers = answers

    def result(self) -> list[Written]:
        """Its townships' files once it is done; what it raised, or that it ended without answering (killed,
        out of memory)."""
        wait([self._answers, self.process.sentinel])
        try:
            if not self._answers.poll():
                raise EOFError
            done, value = self._answers.recv()
        except EOFError:  # (its end of the pipe closed with it)
            self.process.join()
            raise RuntimeError(
                f"the workbook's other process ended without its rows (exit code {self.process.exitcode})"
            ) from None
        self.answered = True
        if not done:
            raise value
        written: list[Written] = value
        return written

    def stop(self) -> None:
        """Have it end: once it has answered it is ending and is given the time; else nobody needs its
        rows any more (the workbook failed), and it is stopped now."""
        self.process.join(ENDING_SECONDS if self.answered else 0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


@contextmanager
def other_process(
    entry: Entry | None,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    towns: list[Township],
) -> Iterator[Other | None]:
    """The other process writing `towns`' rows; None when there are none to give it, when this process
    has one at work already, or when it cannot start: then this process writes every sheet. Leaving the
    block waits for it to end once it has answered, and stops it otherwise; its files are removed."""
    if entry is None or not towns or not _one_at_a_time.acquire(blocking=False):
        yield None
        return
    try:
        with tempfile.TemporaryDirectory(prefix="shouwang-sheets-") as folder:
            other = _start(entry, (settings, list_id, actor, filters, tuple(t.code for t in towns), folder))
            if other is None:
                yield None
                return
            try:
                yield other
            finally:
                other.stop()
                other.exitcode = other.process.exitcode
                other.process.close()
                other._answers.close()
    finally:
        _one_at_a_time.release()


def _start(entry: Entry, args: tuple[Any, ...]) -> Other | None:
    """The other process, started; None (and a warning) if it could not start."""
    context = get_context("spawn")
    answers = sender = None
    try:
        answers, sender = context.Pipe(duplex=False)
        process = context.Process(target=_answer, args=(sender, entry, args), name="workbook-townships")
        process.daemon = True
        process.start()
    except Exception:  # (out of processes or descriptors, arguments that do not pickle): this one writes
        logger.warning("workbook: no second process could start; this one writes every sheet", exc_info=True)
        if answers is not None:
            answers.close()
        return None
    finally:
        if sender is not None:
            sender.close()  # (the other process has its own)
    return Other(process, answers)


def _answer(sender: Connection, entry: Entry, args: tuple[Any, ...]) -> None:
    """The other process: runs `entry` and sends back (True, its result) or (False, what it raised, with
    its traceback as a note). Ctrl-C is its parent's to handle (the parent then stops it). If the parent
    is gone, the files (names, masked ID numbers) go with it: nobody else would remove them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    folder = args[-1]
    try:
        answer: tuple[bool, Any] = (True, entry(*args))
    except Exception as exc:  # noqa: BLE001 - raised again in the parent
        exc.add_note(f"in the workbook's other process:\n{traceback.format_exc()}")
        answer = (False, _carried(exc))
    try:
        sender.send(answer)
    except OSError:  # the parent is gone
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        sender.close()


def _carried(exc: Exception) -> Exception:
    """The error itself if it survives the pipe (pickled and read back), else its words."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - not all errors can be carried
        carried = RuntimeError(f"{type(exc).__name__}: {exc}")
        carried.__notes__ = getattr(exc, "__notes__", [])
        return carried
    return exc


def write_rows(
    sessions: Sessions,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    codes: Sequence[str],
    folder: str,
) -> list[Written]:
    """In the other process (app/spawned.py): the rows of the townships `codes`, a file per township, as
    the sheets' XML. If it fails, or its parent is gone, it removes the files it wrote (names and masked
    ID numbers) before it ends."""
    parent = parent_process()
    rows = RowXml()
    paths: dict[str, Path] = {}
    counts: dict[str, int] = {}
    out: IO[str] | None = None
    try:
        batches = risk_list_export.stream(sessions, settings, list_id, actor, filters, townships=codes)
        for row, number in numbered(batches):
            code = row[TOWNSHIP_CODE]
            if number == 1:
                if parent is not None and not parent.is_alive():  # nobody waits for these rows any more
                    raise RuntimeError("the workbook's process is gone")
                if out is not None:
                    out.close()
                paths[code] = Path(folder) / f"{code}.xml"
                out = paths[code].open("w", encoding="utf-8")
                rows.clear()
            out.write(rows.row(number, risk_list_export.cells(row)))  # type: ignore[union-attr]
            counts[code] = number
    except BaseException:
        for path in paths.values():
            path.unlink(missing_ok=True)
        raise
    finally:
        if out is not None:
            out.close()
    return [Written(code, counts[code], path) for code, path in paths.items()]
