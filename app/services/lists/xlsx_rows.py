"""Our additions to xlsxwriter for a county's weekly list: rows of plain values written straight into a
worksheet's XML (constant-memory mode), and a workbook packed at a faster zip level.

A county's weekly list is hundreds of thousands of rows of 22 cells; xlsxwriter's `write_row` sends each
cell through its type dispatch, a cell object and a generic XML writer, which was seven tenths of the
workbook's time. A list row holds only text and numbers, without formats, so its XML is written here in
one pass — the same XML xlsxwriter writes for it (tests/lists/test_xlsx_rows.py compares the two).
"""

import math
import os
import re
import shutil
import zipfile
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# Excel's limit for a cell's text, in UTF-16 units (xlsxwriter truncates to it too)
MAX_TEXT = 32767
# what a cell's text must not hold as it is: XML's specials, control characters (as _xHHHH_), the two
# non-characters, and a literal _xHHHH_ (whose underscore Excel would otherwise read as an escape)
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
# a text that needs more than its plain cell: one to escape, one that may be past the limit, or one with
# a space at either end (kept by xml:space) — most need none, and this one search says so
_SPECIAL = re.compile(_NEEDS_ESCAPE.pattern + rf"|\A[\s\S]{{{MAX_TEXT // 2 + 1}}}|\A\s|\s\Z")
_LETTERS = [xl_col_to_name(col) for col in range(256)]
# texts whose cell XML a sheet keeps, and how long they may be: labels, places and reasons repeat on
# every page (names and ID numbers do not, so the first ones seen fill part of it for nothing)
TAILS_KEPT, TAIL_TEXT_KEPT = 20_000, 200
ZIP_LEVEL = 1
COPY_BUFFER = 1 << 20
# the zip level of the workbook being packed in this thread (None: zlib's default); see FastWorkbook
_zip_level: ContextVar[int | None] = ContextVar("xlsx_zip_level", default=None)


def _zip_file(file: Any, mode: Literal["w"], compression: int, allowZip64: bool) -> zipfile.ZipFile:  # noqa: N803
    """xlsxwriter's call (3.3: file, "w", compression, allowZip64), at this thread's level."""
    level = _zip_level.get()
    return zipfile.ZipFile(file, mode, compression=compression, allowZip64=allowZip64, compresslevel=level)


# xlsxwriter makes its zip by this module-level name when it packs; other workbooks keep the default
xlsxwriter.workbook.ZipFile = _zip_file


class FastWorkbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """A workbook whose parts are deflated at zlib's level 1, not its default 6: a county's list is
    180 MB of sheet XML, which level 6 took 1.3 s to squeeze to 16 MB, level 1 0.5 s to 19 MB.
    (xlsxwriter has no option for it; the level is set for this thread while this workbook packs.)"""

    def _store_workbook(self) -> None:
        token = _zip_level.set(ZIP_LEVEL)
        try:
            super()._store_workbook()
        finally:
            _zip_level.reset(token)


class RowXml:
    """The XML of plain rows (text and numbers, no formats) as xlsxwriter writes them: in a sheet
    (RowSheet), or into a file of rows that another process's sheet takes whole (RowSheet.append_rows)."""

    def __init__(self) -> None:
        # a text's cell XML, by text: a list's labels, places and reasons repeat on every page
        self._tails: dict[str, str] = {}

    def clear(self) -> None:
        """Let go of the texts kept (a sheet's rows are done)."""
        self._tails.clear()

    def row(self, row: int, values: Sequence[str | int | float]) -> str:
        """Row `row` (0-based, as xlsxwriter counts): "" leaves its cell empty; text and numbers only (not
        bool, not None), at most 256 cells."""
        if not values or len(values) > len(_LETTERS):  # (no list has that many columns: refused, not cut)
            raise ValueError(f"row {row} of {len(values)} cells is outside the sheet")
        number = row + 1
        parts = [f'<row r="{number}">']
        tails = self._tails
        for letter, value in zip(_LETTERS, values, strict=False):
            if isinstance(value, str):
                if value:
                    tail = tails.get(value)
                    if tail is None:
                        tail = _text_tail(value)
                        if len(tails) < TAILS_KEPT and len(value) <= TAIL_TEXT_KEPT:
                            tails[value] = tail
                    parts.append(f'<c r="{letter}{number}"{tail}')
            elif isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):  # (NaN or infinity would make Excel call the file corrupt)
                    parts.append(f'<c r="{letter}{number}"><v>{value:.16G}</v></c>')
            else:
                raise TypeError(f"a plain row holds text and numbers, not {type(value).__name__}")
        parts.append("</row>")
        return "".join(parts)


class RowSheet(Worksheet):  # type: ignore[misc]  # (xlsxwriter has no type hints)
    """A worksheet that also takes whole rows of text and numbers, or a file of them."""

    def __init__(self) -> None:
        super().__init__()
        self._rows = RowXml()

    def _write_optimized_sheet_data(self) -> None:
        """xlsxwriter's copy of the rows kept aside into the sheet's XML, as bytes: its own reads them back
        as text, decoding and encoding again each of a county's 180 MB (a tenth of the workbook's time)."""
        target = getattr(self.fh, "buffer", None)
        if self.dim_rowmin is None or target is None:  # (no rows, or a workbook packed in memory)
            super()._write_optimized_sheet_data()
            return
        self._xml_start_tag("sheetData")
        self.row_data_fh.close()
        self.fh.flush()
        with open(self.row_data_filename, "rb") as rows:
            shutil.copyfileobj(rows, target, COPY_BUFFER)
        os.unlink(self.row_data_filename)
        self._xml_end_tag("sheetData")

    def finish_rows(self) -> None:
        """No more plain rows: what the sheet kept to write them is let go (the sheet itself is kept until
        the workbook closes)."""
        self._rows.clear()

    def write_plain_row(self, row: int, values: Sequence[str | int | float]) -> None:
        """`write_row(row, 0, values)` without a format, for rows written in order after any written by
        xlsxwriter itself: "" leaves its cell empty; text and numbers only (not bool, not None)."""
        self._rows_below(row, row, len(values))
        self.fh.write(self._rows.row(row, values))

    def append_rows(self, path: Path, first: int, last: int, width: int) -> None:
        """Rows `first` … `last`, `width` cells at most, as RowXml wrote them into the file at `path` (in
        another process): in order, below any written before."""
        self._rows_below(first, last, width)
        self.fh.flush()
        with path.open("rb") as rows:
            shutil.copyfileobj(rows, self.fh.buffer, COPY_BUFFER)

    def _rows_below(self, first: int, last: int, width: int) -> None:
        """Rows first … last are about to be written, below the last: the sheet's dimensions take them,
        and what xlsxwriter still holds of the row above goes out first."""
        if not self.constant_memory or first <= self.previous_row or last < first:
            raise ValueError("plain rows are written in constant-memory mode, each below the last")
        if (
            not 1 <= width <= len(_LETTERS)
            or self._check_dimensions(last, width - 1)
            or self._check_dimensions(first, 0)
        ):
            raise ValueError(f"row {last} of {width} cells is outside the sheet")
        self._write_single_row(last)


def _text_tail(text: str) -> str:
    """A text cell's XML after its reference."""
    if not _SPECIAL.search(text):
        return f' t="inlineStr"><is><t>{text}</t></is></c>'
    if len(text) > MAX_TEXT // 2:
        text = _within_limit(text)
    if _NEEDS_ESCAPE.search(text):
        text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    return f' t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


def _within_limit(text: str) -> str:
    """The text cut to Excel's limit, which counts UTF-16 units (a rare character of a name, outside the
    basic plane, counts two), never through the middle of a character."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_TEXT:
            return text[:i]
    return text
