"""The workbook an office fixes and uploads again: every row of each household that could not be
imported, as the file had it, the cells at fault marked red with their problem, and a 问题 column
saying every problem of the row. Unmapped columns (such as 问题) are ignored on the next import."""

from collections import defaultdict
from typing import IO

import xlsxwriter

from app.services.imports.mapping import Mapping
from app.services.imports.rows import Problem
from app.services.imports.sources import open_table

PROBLEM_HEADER = "问题"


def write(
    source: IO[bytes], mapping: Mapping, problems: list[Problem], invalid: set[str], out: IO[bytes]
) -> int:
    """Write the rows of the invalid households (and any row with a problem) to `out`; the rows written."""
    by_line: dict[int, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_line[problem.line].append(problem)
    table = open_table(source, mapping)
    household_header = mapping.columns["household_no"]
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet(mapping.sheet or "Sheet1")
    bold = book.add_format({"bold": True})
    red = book.add_format({"bg_color": "#F4CCCC"})
    headers = [h for h in table.headers if h != PROBLEM_HEADER]
    top = mapping.header_row - 1  # where the mapping reads the headers: the workbook imports as it is
    sheet.write_row(top, 0, [*headers, PROBLEM_HEADER], bold)
    sheet.freeze_panes(top + 1, 0)
    written = top
    for row in table.rows:
        found = by_line.get(row.line, [])
        if not found and row.cells.get(household_header, "") not in invalid:
            continue
        written += 1
        at_fault = {p.column: p.message_zh or p.message for p in found}
        for index, header in enumerate(headers):
            value = row.cells.get(header, "")
            if header in at_fault:
                sheet.write_string(written, index, value, red)
                sheet.write_comment(written, index, at_fault[header])
            else:
                sheet.write_string(written, index, value)
        note = "；".join(f"{p.column or '行'}（原第{p.line}行）：{p.message_zh or p.message}" for p in found)
        sheet.write_string(written, len(headers), note)
    sheet.set_column(0, len(headers), 14)
    book.close()
    return written - top
