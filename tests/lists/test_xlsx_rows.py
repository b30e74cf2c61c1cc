"""A weekly list's rows are written into the workbook's XML by our own row writer: it must write exactly
what xlsxwriter writes for the same values, tricky text included, and Excel's readers must read them back."""

import io
import threading
import zipfile
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from app.services.lists import xlsx_rows
from app.services.lists.xlsx_rows import MAX_TEXT, FastWorkbook, RowSheet

ROWS: list[list[Any]] = [
    ["红塔区", "洛河村", "530402202201", "", 0.8312345678901234, 12, "人均纯收入 7,000 元 < 监测线 8,700 元"],
    ["a & b", "<r>not rich</r>", "'=1+2", " leading", "trailing ", "\t", "line\nbreak"],
    # (xlsxwriter's write_row stops at a text past Excel's limit: it is last here, so both write the row)
    ["bell\x07", "cr\r", "_x0041_ literal", "\ufffe\uffff", -3.5, 10**15, "x" * (MAX_TEXT + 10)],
    ["", "", "", "", "", "", "only the last"],
    [0, 0.0, 1e-07, 123456789.125, "零", "是", "否"],
    # one cell that needs care among plain ones (a row is checked whole, then cell by cell)
    ["洛河村", " leading", "plain", 3, "plain", "", "last"],
    ["洛河村", "plain", 3, "trailing\n", "", "plain", "a & b"],
    ["private\ue000use", "\ue000", " \ue000", "plain", 1.5, "", "x"],
]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


def write(path: Path, rows: list[list[Any]], ours: bool) -> None:
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet("清单", worksheet_class=RowSheet)
    sheet.write_row(0, 0, ["乡镇", "村", "村代码", "户编号", "风险分", "天数", "原因"])
    for number, row in enumerate(rows, start=1):
        if ours:
            sheet.write_plain_row(number, row)
        else:
            sheet.write_row(number, 0, row)
    sheet.autofilter(0, 0, len(rows), 6)
    workbook.close()


def test_the_rows_are_the_xml_xlsxwriter_writes_for_them(tmp_path: Path) -> None:
    # xlsxwriter writes a text "<r>…</r>" unescaped, as if it were rich text; ours escapes it
    plain = [[v for v in row if not (isinstance(v, str) and v.startswith("<r>"))] for row in ROWS]
    write(tmp_path / "ours.xlsx", plain, ours=True)
    write(tmp_path / "theirs.xlsx", plain, ours=False)
    assert sheet_xml(tmp_path / "ours.xlsx") == sheet_xml(tmp_path / "theirs.xlsx")


def test_excel_readers_read_back_every_value(tmp_path: Path) -> None:
    write(tmp_path / "ours.xlsx", ROWS, ours=True)
    sheet = openpyxl.load_workbook(tmp_path / "ours.xlsx")["清单"]
    read = [[c.value for c in row] for row in sheet.iter_rows(min_row=2, max_col=7)]
    assert read[0] == [None if v == "" else v for v in ROWS[0]]  # an empty text is an empty cell
    assert read[1][:3] == ["a & b", "<r>not rich</r>", "'=1+2"]
    assert read[1][3:] == [" leading", "trailing ", "\t", "line\nbreak"]
    assert read[2][4:6] == [-3.5, 10**15]
    assert read[2][6] == "x" * MAX_TEXT
    assert read[3] == [None] * 6 + ["only the last"]
    assert read[4][:4] == [0, 0, 1e-07, 123456789.125]
    for got, sent in zip(read[5:], ROWS[5:], strict=True):
        assert got == [None if v == "" else v for v in sent]
    assert sheet.auto_filter.ref == f"A1:G{len(ROWS) + 1}"


def test_a_row_out_of_order_or_of_another_kind_of_value_is_refused(tmp_path: Path) -> None:
    workbook = xlsxwriter.Workbook(io.BytesIO(), {"constant_memory": True})
    sheet = workbook.add_worksheet(worksheet_class=RowSheet)
    sheet.write_plain_row(2, ["a"])
    with pytest.raises(ValueError, match="each below the last"):
        sheet.write_plain_row(2, ["b"])
    with pytest.raises(TypeError, match="not bool"):
        sheet.write_plain_row(3, [True])
    with pytest.raises(ValueError, match="outside the sheet"):
        sheet.write_plain_row(1_048_576, ["past Excel's last row"])
    with pytest.raises(ValueError, match="outside the sheet"):
        sheet.write_plain_row(4, [])
    with pytest.raises(ValueError, match="outside the sheet"):  # past the columns it names: not cut short
        sheet.write_plain_row(5, ["x"] * 257)
    workbook.close()


def test_what_excel_cannot_hold_does_not_corrupt_the_file(tmp_path: Path) -> None:
    """A score that is not a number leaves its cell empty (Excel calls a file with NaN in it corrupt);
    text past Excel's limit is cut by UTF-16 units, a rare character outside the basic plane counting two."""
    rare = "𠮷"  # a character of some names and addresses, two UTF-16 units
    long_text = rare * 20_000
    write(tmp_path / "ours.xlsx", [[float("nan"), float("inf"), long_text, 1.5]], ours=True)
    [[nan, inf, text, number]] = openpyxl.load_workbook(tmp_path / "ours.xlsx")["清单"].iter_rows(
        min_row=2, max_col=4, values_only=True
    )
    assert (nan, inf, number) == (None, None, 1.5)
    assert text == rare * (MAX_TEXT // 2)


def _packed(workbook_class: Any, path: Path) -> tuple[int, bytes]:
    """A workbook of 3,000 list-like rows: its sheet's compressed size and XML."""
    workbook = workbook_class(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet(worksheet_class=RowSheet)
    for number in range(1, 3001):
        sheet.write_plain_row(number, [f"洛河村{number}", number * 1.5, "人均纯收入低于监测线"])
    workbook.close()
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        return info.compress_size, z.read(info)


def _deflated_size(data: bytes, level: int) -> int:
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    return len(deflate.compress(data) + deflate.flush())


def test_a_list_workbook_is_deflated_fast_and_other_workbooks_as_before(tmp_path: Path) -> None:
    """The list's workbook packs its sheets at zlib level 1 (a county's 180 MB of XML in a third of the
    time); other workbooks keep xlsxwriter's level 6, after it and while it packs in another thread."""
    fast_size, xml = _packed(FastWorkbook, tmp_path / "fast.xlsx")
    assert fast_size == _deflated_size(xml, 1)
    default_size, default_xml = _packed(xlsxwriter.Workbook, tmp_path / "default.xlsx")
    assert default_xml == xml
    assert default_size == _deflated_size(xml, 6)
    # a list workbook packing in this thread (its level set) leaves another thread's workbook alone
    token = xlsx_rows._zip_level.set(xlsx_rows.ZIP_LEVEL)
    try:
        beside: list[tuple[int, bytes]] = []
        other = threading.Thread(
            target=lambda: beside.append(_packed(xlsxwriter.Workbook, tmp_path / "o.xlsx"))
        )
        other.start()
        other.join()
    finally:
        xlsx_rows._zip_level.reset(token)
    assert beside == [(default_size, xml)]
