"""Rows of plain values written straight into an xlsxwriter worksheet's XML (constant-memory mode).

A county's weekly list is hundreds of thousands of rows of 22 cells; xlsxwriter's `write_row` sends each
cell through its type dispatch, a cell object and a generic XML writer, which was seven tenths of the
workbook's time. A list row holds only text and numbers, without formats, so its XML is written here in
one pass — the same XML xlsxwriter writes for it (tests/lists/test_xlsx_rows.py compares the two).
"""

import math
import re
from collections.abc import Sequence

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# what a cell's text must not hold as it is: XML's specials, control characters (as _xHHHH_), the two
# non-characters, and a literal _xHHHH_ (whose underscore Excel would otherwise read as an escape)
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
# Excel's limit for a cell's text, in UTF-16 units (xlsxwriter truncates to it too)
MAX_TEXT = 32767
_LETTERS = [xl_col_to_name(col) for col in range(256)]


class RowSheet(Worksheet):  # type: ignore[misc]  # (xlsxwriter has no type hints)
    """A worksheet that also takes whole rows of text and numbers."""

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
        for letter, value in zip(_LETTERS, values, strict=False):
            if isinstance(value, str):
                if value:
                    parts.append(_text_cell(f"{letter}{number}", value))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):  # (NaN or infinity would make Excel call the file corrupt)
                    parts.append(f'<c r="{letter}{number}"><v>{value:.16G}</v></c>')
            else:
                raise TypeError(f"a plain row holds text and numbers, not {type(value).__name__}")
        parts.append("</row>")
        self.fh.write("".join(parts))


def _text_cell(ref: str, text: str) -> str:
    if len(text) > MAX_TEXT // 2:
        text = _within_limit(text)
    if _NEEDS_ESCAPE.search(text):
        text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


def _within_limit(text: str) -> str:
    """The text cut to Excel's limit, which counts UTF-16 units (a rare character of a name, outside the
    basic plane, counts two), never through the middle of a character."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_TEXT:
            return text[:i]
    return text
