"""The weekly list as a workbook: a summary sheet (the week's figures and Excel's own charts of them),
then one sheet per township, written row by row in constant memory (xlsxwriter's constant-memory mode;
the rows themselves by xlsx_rows.RowSheet)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.config import Settings
from app.db import READ_ONLY_OPTIONS, Sessions, transaction
from app.models import RiskList
from app.schemas.risk_lists import RiskListSummary
from app.services.lists import risk_list_export, risk_list_sheets, risk_list_summary
from app.services.lists.risk_list_export import COLUMNS, HEADERS, STEP, TOWNSHIP_CODE, TOWNSHIP_NAME
from app.services.lists.risk_lists import REASON_LABELS, Filters
from app.services.lists.xlsx_rows import FastWorkbook, RowSheet
from app.services.platform.access import Actor


def write_xlsx(
    path: Path,
    sessions: Sessions,
    settings: Settings,
    list_id: int,
    actor: Actor,
    filters: Filters,
    on_batch: Callable[[int], Any] | None = None,
    second_process: risk_list_sheets.Entry | None = None,
) -> None:
    """A summary sheet (figures and charts), then one sheet per township, written row by row
    (xlsxwriter's constant-memory mode keeps one row in memory). Given the entry point of a second process
    (app/spawned.township_rows), a big list's townships are shared with it (risk_list_sheets)."""
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    towns: list[risk_list_sheets.Township] = []
    if second_process is not None:
        with transaction(sessions) as session:
            session.connection(execution_options=READ_ONLY_OPTIONS)
            towns = risk_list_sheets.townships(session, list_id, actor, filters)
    ours, theirs = risk_list_sheets.split(towns)
    # the other process ends while this one packs the workbook; leaving the block waits for it to end (or,
    # if the workbook failed, stops it)
    sharing = risk_list_sheets.other_process(second_process, settings, list_id, actor, filters, theirs)
    with sharing as other:
        workbook = FastWorkbook(str(path), options)
        try:
            header = workbook.add_format(
                {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
            )
            with transaction(sessions) as session:
                session.connection(execution_options=READ_ONLY_OPTIONS)
                risk_list = session.get(RiskList, list_id)
                assert risk_list is not None
                summary = risk_list_summary.summarise(session, risk_list, actor, filters)
            _summary_sheet(workbook, header, summary)
            # with another process at work every sheet is made now, in the list's order; else as rows come
            made = towns if other is not None else []
            sheets = {t.code: _township_sheet(workbook, header, t.name, t.code) for t in made}
            last_rows: dict[str, int] = {}
            own = [t.code for t in ours] if other is not None else None
            batches = risk_list_export.stream(sessions, settings, list_id, actor, filters, on_batch, own)
            sheet: Any = None
            for row, number in risk_list_sheets.numbered(batches):
                code = row[TOWNSHIP_CODE]
                if number == 1:  # rows come township by township: the one before is done
                    _finish(sheet)
                    if code not in sheets:
                        sheets[code] = _township_sheet(workbook, header, row[TOWNSHIP_NAME], code)
                    sheet = sheets[code]
                sheet.write_plain_row(number, risk_list_export.cells(row))
                last_rows[code] = number
            for written in other.result() if other is not None else []:
                sheets[written.code].append_rows(written.path, 1, written.rows, len(COLUMNS))
                last_rows[written.code] = written.rows
                if on_batch is not None:
                    on_batch(written.rows)
            for code, each in sheets.items():
                _finish(each)
                each.autofilter(0, 0, max(last_rows.get(code, 0), 1), len(COLUMNS) - 1)
        except BaseException:
            if other is not None:
                other.stop()  # before what was written is packed (the caller removes the file)
            raise
        finally:
            workbook.close()


def _township_sheet(workbook: Any, header: Any, name: str, code: str) -> Any:
    sheet = workbook.add_worksheet(_sheet_name(workbook, name, code), worksheet_class=RowSheet)
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


def _finish(sheet: Any) -> None:
    if sheet is not None:
        sheet.finish_rows()


def _summary_sheet(workbook: Any, header: Any, summary: RiskListSummary) -> None:
    """The week's figures, households by township and cases by step, then the charts' figures under
    them and the two charts (Excel's own, drawn from those figures) beside them."""
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
    trend = _trend_chart(workbook, sheet, header, summary, row + 2)
    reasons = _reasons_chart(workbook, sheet, header, summary, row + 2 + len(summary.trend) + 2)
    # right of the trend's figures (a column per township), so that a county's are not hidden
    beside = max(7, len({t.township_code for week in summary.trend for t in week.by_township}) + 2)
    for anchor, chart in ((0, trend), (24, reasons)):
        if chart is not None:  # (a chart of nothing: the table above it says so instead)
            sheet.insert_chart(anchor, beside, chart, {"x_scale": 1.6, "y_scale": 1.4})


def _trend_chart(workbook: Any, sheet: Any, header: Any, summary: RiskListSummary, first: int) -> Any | None:
    """High and medium households on each of the last weekly lists, a line per township (the figures
    the dashboard and the PNG chart draw), most households first."""
    lines = risk_list_summary.township_trend(summary)
    townships = [name for name, _ in lines] or ["无高、中风险户"]
    sheet.write_row(first, 0, ["周（高、中风险户数）", *townships], header)
    for k, week in enumerate(summary.trend, start=1):
        sheet.write_row(first + k, 0, [week.week, *(counts[k - 1] for _, counts in lines)])
    if not lines:
        return None
    last = first + len(summary.trend)
    chart = workbook.add_chart({"type": "line"})
    for col in range(1, len(lines) + 1):
        chart.add_series(
            {
                "name": ["汇总", first, col],
                "categories": ["汇总", first + 1, 0, last, 0],
                "values": ["汇总", first + 1, col, last, col],
                "marker": {"type": "circle"},
            }
        )
    chart.set_title({"name": f"近 {len(summary.trend)} 周高、中风险户数（按乡镇）"})
    chart.set_y_axis({"name": "户数", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    return chart


def _reasons_chart(
    workbook: Any, sheet: Any, header: Any, summary: RiskListSummary, first: int
) -> Any | None:
    """How many listed households each reason applies to, the 15 most frequent, most frequent on top."""
    items = list(summary.by_reason.items())[:15]
    sheet.write_row(first, 0, ["风险原因", "户数"], header)
    for k, (code, n) in enumerate(items, start=1):
        sheet.write_row(first + k, 0, [REASON_LABELS.get(code, code), n])
    if not items:
        sheet.write_row(first + 1, 0, ["无风险原因", 0])
        return None
    last = first + len(items)
    chart = workbook.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "户数",
            "categories": ["汇总", first + 1, 0, last, 0],
            "values": ["汇总", first + 1, 1, last, 1],
            "fill": {"color": "#4472C4"},
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": f"{summary.week} 风险原因分布（户数）"})
    chart.set_y_axis({"reverse": True})  # the most frequent at the top, as listed
    chart.set_legend({"none": True})
    return chart
