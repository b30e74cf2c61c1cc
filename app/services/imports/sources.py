"""Reading a district's file row by row, whatever it is (XLSX or CSV), without holding it in memory:
each row comes as its line number (as a spreadsheet shows it) and its cells by header."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
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


@dataclass(frozen=True, slots=True)
class Table:
    headers: list[str]
    letters: dict[str, str]  # header -> the column's letter (A, B … AA)
    rows: Iterator[Row]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
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
            f"row {mapping.header_row} lacks the mapping's columns: {', '.join(missing)}", field="file"
        )
    twice = sorted({h for h in headers if h and headers.count(h) > 1 and h in mapping.columns.values()})
    if twice:
        raise Invalid(f"columns appear twice: {', '.join(twice)}", field="file")
    letters = {h: get_column_letter(i + 1) for i, h in enumerate(headers) if h}
    return headers, letters


def _xlsx(stream: IO[bytes], mapping: Mapping) -> Table:
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError):
        raise Invalid("the file is not a readable XLSX workbook", field="file") from None
    if mapping.sheet is not None and mapping.sheet not in book.sheetnames:
        raise Invalid(f"the workbook has no sheet {mapping.sheet!r}", field="file")
    sheet = book[mapping.sheet] if mapping.sheet is not None else book.worksheets[0]
    rows = sheet.iter_rows(min_row=mapping.header_row, values_only=True)
    header_row = next(rows, None)
    if header_row is None:
        raise Invalid(f"the sheet has no row {mapping.header_row}", field="file")
    headers, letters = _headers(list(header_row), mapping)

    def cells() -> Iterator[Row]:
        try:
            for offset, values in enumerate(rows, start=mapping.header_row + 1):
                texts = [_text(v) for v in values]
                if any(texts):
                    yield Row(offset, {h: t for h, t in zip(headers, texts, strict=False) if h})
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
        try:
            for values in reader:
                texts = [v.strip() for v in values]
                if any(texts):
                    yield Row(reader.line_num, {h: t for h, t in zip(headers, texts, strict=False) if h})
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
