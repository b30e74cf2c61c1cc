"""Reading a frozen list: scoped and filtered rows, as JSON items and CSV (streamed), and the cells the
workbook (risk_list_workbook.py) shares with the CSV.

Rows are read with a server-side cursor in batches, so a large list streams in constant memory. Text
cells that a spreadsheet would take for a formula (=, +, -, @, tab, CR) are escaped with a leading
apostrophe in CSV and XLSX; JSON carries the values as they are.
"""

import csv
import io
import json
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from queue import Full, Queue
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import READ_ONLY_OPTIONS, Sessions, transaction
from app.models import RiskList, RiskListEntry
from app.pii import PiiCipher, cipher_for
from app.schemas.common import PageParams
from app.services.cases import procedure
from app.services.lists import risk_lists
from app.services.lists.risk_list_entries import masked_id
from app.services.lists.risk_lists import READERS, Filters
from app.services.platform import access
from app.services.platform.access import Actor

BATCH = 2000
T = TypeVar("T")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LEVEL = {"high": "高", "medium": "中", "low": "低"}
STATUS = {
    "not_monitored": "未纳入监测",
    "under_verification": "核实中",
    "monitored": "已纳入监测",
    "risk_eliminated": "风险已消除",
}
STEP = {str(step): rule.label_zh for step, rule in procedure.STEPS.items()}
CHANGE = {"new": "新增", "continuing": "持续", "level_up": "升级", "level_down": "降级", "resolved": "退出"}
RESOLVED = {
    "risk_eliminated": "风险消除",
    "case_rejected": "认定未通过",
    "case_withdrawn": "案件撤销",
    "score_fell": "风险下降",
    "other": "其他",
}
CATEGORY = {"none": "—"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    cell: Callable[[Any], Any] | None = None  # how the value becomes a cell (None: as it is)


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _label(labels: dict[str, str]) -> Callable[[Any], Any]:
    return lambda v: labels.get(v, v) if v is not None else ""


def _codes(value: str) -> str:
    return "、".join(risk_lists.codes(value))


# the file's columns (CSV and XLSX share headers and cells); key: the entry's field
COLUMNS = (
    Column("township_name", "乡镇", 12),
    Column("village_name", "村", 12),
    Column("village_code", "村代码", 14),
    Column("household_no", "户编号", 20),
    Column("head_name", "户主姓名", 10),
    Column("head_id_masked", "户主身份证号", 21),
    Column("address", "地址", 24),
    Column("household_type", "户类型", 12),
    Column("monitoring_category", "监测类别", 14, _label(CATEGORY)),
    Column("monitoring_status", "监测状态", 12, _label(STATUS)),
    Column("level", "风险等级", 9, _label(LEVEL)),
    Column("score", "风险分", 8),
    Column("reasons", "风险原因", 60),
    Column("risk_types", "风险类型", 18, _codes),
    Column("case_step", "案件环节", 10, _label(STEP)),
    Column("case_days_open", "已办天数", 9),
    Column("overdue", "是否逾期", 9, _yes),
    Column("measures", "帮扶措施", 40),
    Column("helper_name", "帮扶责任人", 10),
    Column("change", "本周变化", 9, _label(CHANGE)),
    Column("previous_level", "上周等级", 9, _label(LEVEL)),
    Column("resolved_reason", "退出原因", 11, _label(RESOLVED)),
)
HEADERS = [c.header for c in COLUMNS]
READ = (
    RiskListEntry.household_id,
    RiskListEntry.household_no,
    RiskListEntry.township_code,
    RiskListEntry.township_name,
    RiskListEntry.village_code,
    RiskListEntry.village_name,
    RiskListEntry.address,
    RiskListEntry.head_name,
    RiskListEntry.head_id_masked,
    # only a list made before masked IDs were kept sends its encrypted ones
    case((RiskListEntry.head_id_masked.is_(None), RiskListEntry.head_id_encrypted)).label(
        "head_id_encrypted"
    ),
    RiskListEntry.household_type,
    RiskListEntry.monitoring_category,
    RiskListEntry.monitoring_status,
    RiskListEntry.level,
    RiskListEntry.score,
    RiskListEntry.reasons,
    RiskListEntry.reason_codes,
    RiskListEntry.risk_types,
    RiskListEntry.case_id,
    RiskListEntry.case_step,
    RiskListEntry.case_days_open,
    RiskListEntry.overdue,
    RiskListEntry.measures,
    RiskListEntry.helper_name,
    RiskListEntry.change,
    RiskListEntry.previous_level,
    RiskListEntry.resolved_reason,
)
KEYS = [c.key for c in READ]


def check_reader(actor: Actor) -> None:
    access.require_role(actor, READERS, "reading risk lists")


def rows(list_id: int, actor: Actor, filters: Filters) -> Select[Any]:
    return risk_lists.entries(list_id, actor, filters, *READ)


def count(session: Session, stmt: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def _filled(row: Sequence[Any], cipher: PiiCipher) -> Sequence[Any]:
    """A row with its head's ID masked: as stored, or (a list made before masked IDs were kept) from the
    encrypted number, which is read only then."""
    token = row[_TOKEN]
    if not token:
        return row
    values = list(row)
    values[_MASKED] = masked_id(cipher, token)
    return values


def _item(row: Sequence[Any]) -> dict[str, Any]:
    item = dict(zip(KEYS, row, strict=True))
    del item["head_id_encrypted"]
    item["reason_codes"] = risk_lists.codes(item["reason_codes"])
    item["risk_types"] = risk_lists.codes(item["risk_types"])
    return item


def page(
    session: Session,
    settings: Settings,
    risk_list: RiskList,
    actor: Actor,
    filters: Filters,
    params: PageParams,
) -> tuple[list[dict[str, Any]], int]:
    stmt = rows(risk_list.id, actor, filters)
    cipher = cipher_for(settings)
    found = session.execute(stmt.offset(params.offset).limit(params.page_size))
    return [_item(_filled(row, cipher)) for row in found], count(session, stmt)


def cells(row: Sequence[Any]) -> list[Any]:
    """A row's cells in COLUMNS' order: labelled, "" for none, formula-like text escaped (written out:
    this runs for every cell of a county's list)."""
    values = []
    for index, convert in _CELL_PLAN:
        value = row[index]
        if convert is not None:
            value = convert(value)
        if value is None:
            value = ""
        elif type(value) is str and value.startswith(FORMULA_START):
            value = "'" + value
        values.append(value)
    return values


_CELL_PLAN = tuple((KEYS.index(column.key), column.cell) for column in COLUMNS)
_TOKEN, _MASKED = KEYS.index("head_id_encrypted"), KEYS.index("head_id_masked")
TOWNSHIP_CODE, TOWNSHIP_NAME = KEYS.index("township_code"), KEYS.index("township_name")


def stream(
    sessions: Sessions,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    on_batch: Callable[[int], Any] | None = None,
    townships: Sequence[str] | None = None,
) -> Iterator[list[Sequence[Any]]]:
    """The rows (READ's columns, the head's ID masked) in batches, read in a session of their own (a
    response streams after its request's session has closed) through a server-side cursor; only those
    of `townships` when given (a workbook's share: risk_list_sheets)."""
    cipher = cipher_for(settings)
    stmt = rows(list_id, actor, filters)
    if townships is not None:
        stmt = stmt.where(RiskListEntry.township_code.in_(townships))
    with transaction(sessions) as session:
        session.connection(execution_options=READ_ONLY_OPTIONS)
        # Core, not the ORM: the rows are plain columns, and the ORM's loading cost a tenth of an export
        result = session.connection().execute(stmt.execution_options(yield_per=BATCH))
        for batch in result.partitions():
            yield [_filled(row, cipher) for row in batch]
            if on_batch is not None:
                on_batch(len(batch))


def read_ahead(batches: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """The batches, read up to `depth` ahead by a thread of their own: the database sends the next
    batch while the caller writes the last (the CLI's CSV of a county's list: 2.9 → 2.2 s; the workbook,
    whose writing holds the interpreter throughout, gained nothing). The batches' generator runs, and is
    closed, in that thread; leaving early stops it."""
    if depth < 1:
        raise ValueError("read_ahead reads at least one batch ahead")
    queue: Queue[tuple[bool, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put((True, batch)):
                    return
            put((False, None))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            put((False, exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="list-export-reader", daemon=True)
    reader.start()
    try:
        while True:
            more, item = queue.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        reader.join()


def csv_chunks(batches: Iterator[list[Sequence[Any]]]) -> Iterator[bytes]:
    """UTF-8 with a BOM (so Excel shows the Chinese), the Chinese headers, one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    for batch in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(cells(row) for row in batch)
        yield buffer.getvalue().encode()


def json_chunks(risk_list: dict[str, Any], batches: Iterator[list[Sequence[Any]]]) -> Iterator[bytes]:
    """The whole list as one JSON document, streamed: {"risk_list": …, "items": [...]}."""
    yield (
        b'{"risk_list": ' + json.dumps(risk_list, ensure_ascii=False, default=str).encode() + b', "items": ['
    )
    first = True
    for batch in batches:
        for row in batch:
            yield (b"" if first else b",\n") + json.dumps(_item(row), ensure_ascii=False).encode()
            first = False
    yield b"]}\n"
