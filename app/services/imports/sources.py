"""Reading a district's file row by row, whatever it is (XLSX or CSV), without holding it in memory:
each row comes as its line number (as a spreadsheet shows it) and its cells by header."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from app.errors import Invalid
from app.services.imports.mapping import Mapping

XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    cells: dict[str, str]  # header -> the cell as text ("" when empty)
    numbers: frozenset[str] = frozenset()  # headers whose cell Excel holds as a number (15 digits at most)


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    letters: dict[str, str]  # header -> the column's letter (A, B … AA)
    rows: Iterator[Row]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # a date typed with a time of day: the day is what a record holds
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _headers(raw: list[Any], mapping: Mapping) -> tuple[list[str], dict[str, str]]:
    headers = [_text(v) for v in raw]
    missing = [h for h in mapping.columns.values() if h not in headers]
    if missing:
        raise Invalid(
            f"row {mapping.header_row} lacks the mapping's columns: {'、'.join(missing)}", field="file"
        )
    twice = sorted({h for h in headers if h and headers.count(h) > 1 and h in mapping.columns.values()})
    if twice:
        raise Invalid(f"columns appear twice: {'、'.join(twice)}", field="file")
    letters = {h: get_column_letter(i + 1) for i, h in enumerate(headers) if h}
    return headers, letters


def _sheet(book: Any, mapping: Mapping) -> Any:
    """The mapping's sheet, or the first whose header row holds the mapping's columns (an export often
    opens with a sheet of notes)."""
    if mapping.sheet is not None:
        if mapping.sheet not in book.sheetnames:
            raise Invalid(
                f"the workbook has no sheet {mapping.sheet!r}; its sheets: {', '.join(book.sheetnames)}",
                field="file",
            )
        return book[mapping.sheet]
    wanted = set(mapping.columns.values())
    for sheet in book.worksheets:
        header = next(
            sheet.iter_rows(min_row=mapping.header_row, max_row=mapping.header_row, values_only=True), ()
        )
        if wanted <= {_text(v) for v in header}:
            return sheet
    return book.worksheets[0]  # its header row says what is missing


def _xlsx(stream: IO[bytes], mapping: Mapping) -> Table:
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
        sheet = _sheet(book, mapping)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ParseError, ValueError, TypeError):
        raise Invalid("the file is not a readable XLSX workbook", field="file") from None
    rows = sheet.iter_rows(min_row=mapping.header_row, values_only=True)
    header_row = next(rows, None)
    if header_row is None:
        sheets = ", ".join(book.sheetnames)
        raise Invalid(
            f"no sheet has a row {mapping.header_row} with the mapping's columns; sheets: {sheets}",
            field="file",
        )
    headers, letters = _headers(list(header_row), mapping)

    def cells() -> Iterator[Row]:
        try:
            for offset, values in enumerate(rows, start=mapping.header_row + 1):
                texts = [_text(v) for v in values]
                if any(texts):
                    numbers = frozenset(
                        h for h, v in zip(headers, values, strict=False) if h and isinstance(v, int | float)
                    )
                    yield Row(offset, {h: t for h, t in zip(headers, texts, strict=False) if h}, numbers)
        finally:
            book.close()

    return Table(headers, letters, cells())


def _csv(stream: IO[bytes], mapping: Mapping) -> Table:
    text = io.TextIOWrapper(stream, encoding=mapping.encoding, newline="")
    reader = csv.reader(text)
    try:
        for _ in range(mapping.header_row - 1):
            next(reader, None)
        header_row = next(reader, None)
    except UnicodeDecodeError:
        raise Invalid(
            f"the file is not text in {mapping.encoding} (see the mapping's encoding)", field="file"
        ) from None
    if header_row is None:
        raise Invalid(f"the file has no row {mapping.header_row}", field="file")
    headers, letters = _headers(list(header_row), mapping)

    def cells() -> Iterator[Row]:
        try:  # a record's line as a spreadsheet shows it (a line break inside a cell is not a new row)
            for line, values in enumerate(reader, start=mapping.header_row + 1):
                texts = [v.strip() for v in values]
                if any(texts):
                    yield Row(line, {h: t for h, t in zip(headers, texts, strict=False) if h})
        except UnicodeDecodeError:
            raise Invalid(
                f"line {reader.line_num + 1} is not text in {mapping.encoding}", field="file"
            ) from None

    return Table(headers, letters, cells())


def open_table(stream: IO[bytes], mapping: Mapping) -> Table:
    """The file's rows under its headers; XLSX is told from CSV by its content, not its name."""
    start = stream.read(4)
    stream.seek(0)
    return _xlsx(stream, mapping) if start == XLSX_MAGIC else _csv(stream, mapping)


def open_path(path: Path, mapping: Mapping) -> tuple[IO[bytes], Table]:
    stream = path.open("rb")
    try:
        return stream, open_table(stream, mapping)
    except BaseException:
        stream.close()
        raise
