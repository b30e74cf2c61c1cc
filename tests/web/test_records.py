"""The district office in a browser brings a national-system export in: upload, the check's problems in
Chinese by line and column, the workbook of rows to fix, the import of the valid households; downloads
the monthly tables and the decisions; a village cadre prints the village's public notice from the case
page. A cadre gets no records page."""

import io
from pathlib import Path
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import func, select

from app import db
from app.demo import national_file
from app.models import Household
from app.worker.jobs import run_imports
from tests.fixtures import Accounts
from tests.imports.test_exports import at_notice_step
from tests.web.conftest import shot
from tests.web.test_case_desk import _log_in

H = national_file.H


def _households() -> int:
    with db.session_scope() as session:
        return session.scalar(select(func.count()).select_from(Household)) or 0


def _file_with_two_errors(tmp_path: Path) -> Path:
    rows: list[dict[str, Any]] = national_file.district(6)
    rows[4][H["id_number"]] = rows[4][H["id_number"]][:17] + (
        "0" if rows[4][H["id_number"]][17] != "0" else "1"
    )
    for row in rows[6:9]:
        row[H["village_name"]] = "不存在村"
    return national_file.write(tmp_path / "全区导出.xlsx", rows)


def test_the_office_checks_a_file_fixes_nothing_and_imports_the_valid_households(
    phone: Page, live_server: str, accounts: Accounts, tmp_path: Path
) -> None:
    accounts.create("district")
    phone.set_viewport_size({"width": 1280, "height": 900})
    _log_in(phone, live_server, "district")
    phone.locator("#nav").get_by_role("link", name="导入与报表").click()
    expect(phone.get_by_role("heading", name="导入与报表")).to_be_visible()
    before = _households()
    phone.get_by_label("文件（Excel 或 CSV，每人一行）").set_input_files(str(_file_with_two_errors(tmp_path)))
    phone.get_by_label("来源说明").fill("全国系统 2026 年 11 月导出")
    phone.get_by_role("button", name="上传并检查").click()
    expect(phone.locator(".records-result")).to_contain_text("排队等待处理")
    run_imports()  # the worker's job
    result = phone.locator(".records-result")
    expect(result).to_contain_text("检查结果（未写入）")
    expect(result).to_contain_text("共 2 处问题")
    problems = phone.locator(".records-problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("身份证号校验位不对")
    expect(problems.nth(0)).to_contain_text("证件号码（")
    expect(problems.nth(1)).to_contain_text("本县（区）没有这个村")
    expect(result).to_contain_text("新建 4 户")
    shot(phone, "records-check-1280")
    workbook = phone.request.get(
        live_server + (phone.locator("#problems-download").get_attribute("href") or "")
    )
    assert workbook.status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.body())).active
    assert sheet is not None
    assert sheet.max_row == 1 + 2 * 3  # the two households' rows, to fix and upload again
    assert _households() == before

    phone.get_by_role("button", name="导入没有问题的农户").click()
    expect(phone.locator("#status")).to_contain_text("跳过有问题的农户")  # not ticked: nothing sent
    phone.get_by_label("跳过有问题的农户").check()
    phone.get_by_role("button", name="导入没有问题的农户").click()
    expect(result).to_contain_text("排队等待处理")
    run_imports()
    expect(result).to_contain_text("已导入")
    assert _households() - before == 4
    expect(phone.locator(".records-recent tbody tr")).to_have_count(2)
    expect(phone.locator(".records-recent tbody tr").first).to_contain_text("导入（跳过有问题的）")
    shot(phone, "records-imported-1280")

    monthly = phone.request.get(
        live_server + (phone.locator("#monthly-download").get_attribute("href") or "")
    )
    assert monthly.status == 200
    assert openpyxl.load_workbook(io.BytesIO(monthly.body())).sheetnames[0] == "监测对象（月末）"
    phone.get_by_label("从").fill("2024-01-01")
    phone.get_by_label("到").fill("2024-12-31")
    decisions = phone.request.get(
        live_server + (phone.locator("#decisions-download").get_attribute("href") or "")
    )
    assert decisions.status == 200
    table = list(openpyxl.load_workbook(io.BytesIO(decisions.body())).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(table) == 1 + 2 * 3  # households 0 and 5 (identified 2024-03-15), three members each
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()
    expect(phone.get_by_role("heading", name="导入与报表")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    shot(phone, "records-360")


def test_a_cadre_prints_the_villages_notice_from_the_case_and_has_no_records_page(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    made = at_notice_step(client, accounts)
    _log_in(phone, live_server, "cadre_a")
    expect(phone.locator("#nav").get_by_role("link", name="导入与报表")).to_have_count(0)
    phone.goto(f"{live_server}/#/records")
    expect(phone.locator("main")).to_contain_text("本页只供区（县）乡村振兴部门使用")
    with db.session_scope() as session:
        from app.models import Case

        case_id = session.scalar(select(Case.id).where(Case.household_id == made["household"]["id"]))
    phone.goto(f"{live_server}/#/cases/{case_id}")
    link = phone.get_by_role("link", name="打印本村公示（PDF，A4）")
    expect(link).to_be_visible()
    shot(phone, "case-print-notice-390")
    pdf = phone.request.get(live_server + (link.get_attribute("href") or ""))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "王建国" in text
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]
