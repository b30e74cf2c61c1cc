"""Rows of plain values written straight into an xlsxwriter worksheet's XML (constant-memory mode).

A county's weekly list is hundreds of thousands of rows of 22 cells; xlsxwriter's `write_row` sends each
cell through its type dispatch, a cell object and a generic XML writer, which was seven tenths of the
workbook's time. A list row holds only text and numbers, without formats, so its XML is written here in
one pass — the same XML xlsxwriter writes for it (tests/lists/test_xlsx_rows.py compares the two).
"""

import functools
import math
import re
import threading
from collections.abc import Sequence

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# what a cell's text must not hold as it is: XML's specials, control characters (as _xHHHH_), the two
# non-characters, and a literal _xHHHH_ (whose underscore Excel would otherwise read as an escape)
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
# a text that needs more than its plain cell: one to escape, one that is long, or one with a space at
# either end (kept by xml:space) — most need none, and this one search says so
_SPECIAL = re.compile(_NEEDS_ESCAPE.pattern + r"|\A[\s\S]{16384}|\A\s|\s\Z")
# Excel's limit for a cell's text, in UTF-16 units (xlsxwriter truncates to it too)
MAX_TEXT = 32767
_LETTERS = [xl_col_to_name(col) for col in range(256)]
TAILS_KEPT = 50_000  # texts whose XML is kept (names and ID numbers rarely repeat: not every one)


class FastWorkbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """A workbook whose parts are deflated at zlib's level 1, not its default 6: a county's list is
    180 MB of sheet XML, which level 6 took 1.3 s to squeeze to 16 MB, level 1 0.5 s to 19 MB.

    xlsxwriter has no option for it: its packing makes its ZipFile by the module's name, so that name
    is swapped while this workbook is packed (under a lock: concurrent exports pack one at a time)."""

    def _store_workbook(self) -> None:
        with _PACKING:
            deflate_at_6 = xlsxwriter.workbook.ZipFile
            xlsxwriter.workbook.ZipFile = functools.partial(deflate_at_6, compresslevel=ZIP_LEVEL)
            try:
                super()._store_workbook()
            finally:
                xlsxwriter.workbook.ZipFile = deflate_at_6


ZIP_LEVEL = 1
_PACKING = threading.Lock()


class RowSheet(Worksheet):  # type: ignore[misc]  # (xlsxwriter has no type hints)
    """A worksheet that also takes whole rows of text and numbers."""

    def __init__(self) -> None:
        super().__init__()
        # a text's cell XML, by text: a list's labels, places and reasons repeat on every page
        self._tails: dict[str, str] = {}

    def write_plain_row(self, row: int, values: Sequence[str | int | float]) -> None:
        """`write_row(row, 0, values)` without a format, for rows written in order after any written by
        xlsxwriter itself: "" leaves its cell empty; text and numbers only (not bool, not None)."""
        if not self.constant_memory or row <= self.previous_row:
            raise ValueError("plain rows are written in constant-memory mode, each below the last")
        if (
            not values
            or len(values) > len(_LETTERS)  # (no list has that many columns: refused, not cut short)
            or self._check_dimensions(row, len(values) - 1)
            or self._check_dimensions(row, 0)
        ):
            raise ValueError(f"row {row} of {len(values)} cells is outside the sheet")
        self._write_single_row(row)  # what xlsxwriter still holds of the row above goes out first
        number = row + 1
        parts = [f'<row r="{number}">']
        tails = self._tails
        for letter, value in zip(_LETTERS, values, strict=False):
            if isinstance(value, str):
                if value:
                    tail = tails.get(value)
                    if tail is None:
                        tail = _text_tail(value)
                        if len(tails) < TAILS_KEPT:
                            tails[value] = tail
                    parts.append(f'<c r="{letter}{number}"{tail}')
            elif isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):  # (NaN or infinity would make Excel call the file corrupt)
                    parts.append(f'<c r="{letter}{number}"><v>{value:.16G}</v></c>')
            else:
                raise TypeError(f"a plain row holds text and numbers, not {type(value).__name__}")
        parts.append("</row>")
        self.fh.write("".join(parts))


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
