"""Reading a frozen list: scoped and filtered rows, as JSON items, CSV (streamed) and XLSX (one sheet per
township and a summary sheet with the charts).

Rows are read with a server-side cursor in batches, so a large list streams in constant memory. Text
cells that a spreadsheet would take for a formula (=, +, -, @, tab, CR) are escaped with a leading
apostrophe in CSV and XLSX; JSON carries the values as they are.
"""

import csv
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import READ_ONLY, Sessions, transaction
from app.models import RiskList, RiskListEntry
from app.pii import PiiCipher, cipher_for
from app.schemas.common import PageParams
from app.services.cases import procedure
from app.services.lists import risk_list_summary, risk_lists
from app.services.lists.risk_list_entries import masked_id
from app.services.lists.risk_lists import READERS, Filters
from app.services.platform import access
from app.services.platform.access import Actor

logger = logging.getLogger(__name__)
BATCH = 2000
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
_TOWNSHIP_CODE, _TOWNSHIP_NAME = KEYS.index("township_code"), KEYS.index("township_name")


def stream(
    sessions: Sessions,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    on_batch: Callable[[int], Any] | None = None,
) -> Iterator[list[Sequence[Any]]]:
    """The rows (READ's columns, the head's ID masked) in batches, read in a session of their own (a
    response streams after its request's session has closed) through a server-side cursor."""
    cipher = cipher_for(settings)
    with transaction(sessions) as session:
        session.connection(execution_options={READ_ONLY: True})
        # Core, not the ORM: the rows are plain columns, and the ORM's loading cost a tenth of an export
        result = session.connection().execute(
            rows(list_id, actor, filters).execution_options(yield_per=BATCH)
        )
        for batch in result.partitions():
            yield [_filled(row, cipher) for row in batch]
            if on_batch is not None:
                on_batch(len(batch))


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


def write_xlsx(
    path: Path,
    sessions: Sessions,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    on_batch: Callable[[int], Any] | None = None,
) -> None:
    """A summary sheet (figures and charts), then one sheet per township, written row by row
    (xlsxwriter's constant-memory mode keeps one row in memory)."""
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        with transaction(sessions) as session:
            session.connection(execution_options={READ_ONLY: True})
            risk_list = session.get(RiskList, list_id)
            assert risk_list is not None
            from app.services.lists import risk_list_charts  # matplotlib: only the workbook needs it

            summary = risk_list_summary.summarise(session, risk_list, actor, filters)
            try:
                charts = risk_list_charts.render_all(summary)
            except risk_list_charts.ChartsUnavailable as exc:  # the list still goes out, without charts
                logger.warning("risk list workbook without charts", extra={"reason": exc.message})
                charts = {}
        _summary_sheet(workbook, header, summary, charts)
        sheet: Any = None
        township, row_number = None, 0
        for batch in stream(sessions, settings, list_id, actor, filters, on_batch):
            for row in batch:
                if row[_TOWNSHIP_CODE] != township:
                    _finish(sheet, row_number)
                    township, row_number = row[_TOWNSHIP_CODE], 0
                    sheet = _township_sheet(workbook, header, row[_TOWNSHIP_NAME], row[_TOWNSHIP_CODE])
                row_number += 1
                sheet.write_row(row_number, 0, cells(row))
        _finish(sheet, row_number)
    finally:
        workbook.close()


def _township_sheet(workbook: Any, header: Any, name: str, code: str) -> Any:
    sheet = workbook.add_worksheet(_sheet_name(workbook, name, code))
    sheet.freeze_panes(1, 0)
    for i, column in enumerate(COLUMNS):
        sheet.set_column(i, i, column.width)
    sheet.write_row(0, 0, HEADERS, header)
    return sheet


def _sheet_name(workbook: Any, name: str, code: str) -> str:
    """The township's name as Excel allows it (≤ 31 characters, none of []:*?/\\, no apostrophe at either
    end, unique regardless of case); its code when the name cannot be used."""
    title = "".join(ch for ch in name if ch not in "[]:*?/\\").strip().strip("'")[:31].strip("'")
    taken = {sheet.name.lower() for sheet in workbook.worksheets()}
    for candidate in (title, f"{title[:18]}{code}" if title else "", code):
        if candidate and candidate.lower() not in taken and candidate.lower() != "history":
            return candidate
    return f"{code}-{len(taken)}"


def _finish(sheet: Any, last_row: int) -> None:
    if sheet is not None:
        sheet.autofilter(0, 0, max(last_row, 1), len(COLUMNS) - 1)


def _summary_sheet(workbook: Any, header: Any, summary: Any, charts: dict[str, bytes]) -> None:
    sheet = workbook.add_worksheet("汇总")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 5, 10)
    sheet.write_row(0, 0, [f"{summary.week} 风险监测周清单 汇总", ""], header)
    figures = [
        ("清单户数", summary.households),
        ("本周新增", summary.changes.get("new", 0)),
        ("本周退出", summary.changes.get("resolved", 0)),
        ("风险升级", summary.changes.get("level_up", 0)),
        ("风险降级", summary.changes.get("level_down", 0)),
        ("逾期案件", summary.overdue_cases),
        (
            "认定办结天数（中位数）",
            summary.median_days_to_decision if summary.median_days_to_decision is not None else "—",
        ),
        (
            "已认定风险类型有对应措施的比例",
            f"{summary.confirmed_risk_types_with_measure:.0%}"
            if summary.confirmed_risk_types_with_measure is not None
            else "—",
        ),
    ]
    for i, (label, value) in enumerate(figures, start=2):
        sheet.write_row(i, 0, [label, value])
    row = len(figures) + 3
    sheet.write_row(row, 0, ["乡镇", "高", "中", "低", "合计"], header)
    for t in summary.by_township:
        row += 1
        sheet.write_row(row, 0, [t.township_name, t.high, t.medium, t.low, t.high + t.medium + t.low])
    row += 2
    sheet.write_row(row, 0, ["案件环节", "件数"], header)
    for step, n in summary.cases_by_step.items():
        row += 1
        sheet.write_row(row, 0, [STEP.get(step, step), n])
    anchor = 0
    for name, png in charts.items():
        sheet.insert_image(
            anchor, 7, f"{name}.png", {"image_data": io.BytesIO(png), "x_scale": 0.8, "y_scale": 0.8}
        )
        anchor += 26
