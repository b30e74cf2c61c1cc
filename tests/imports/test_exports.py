"""What leaves Shouwang on paper or in another system's layout: the village's public notice (Chinese,
nothing a notice may not show), the decisions export that imports back to the same records, and the
monthly tables."""

import io
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import delete, select

from app import db
from app.demo import national_file as national
from app.models import Case, Household, Member, MemberFact, Report, ReportEvent
from app.models.enums import MonitoringStatus
from app.services.imports import mapping
from tests.fixtures import (
    VILLAGE_A,
    VILLAGE_B,
    Accounts,
    case_action,
    household_body,
    member_body,
    report_body,
)
from tests.imports.test_import_households import run_import

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def at_notice_step(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    """A household with every personal field filled, its case verified and reviewed: at the notice step."""
    cadre = accounts["cadre_a"]
    body = household_body(
        members=[
            member_body("户主", birth=date(1970, 3, 1), name="王建国", health="患有大病"),
            member_body("配偶", male=False, birth=date(1972, 8, 9), name="李秀英", health="长期慢性病"),
        ]
    )
    household = client.post("/api/v1/households", json=body, headers=cadre).json()
    income = report_body(
        "2025",
        "2025-01-01",
        "2025-12-31",
        wages="12345",
        business="0",
        prop="0",
        transfer="0",
        cost="0",
        spending={"medical": "23456", "education": "0"},
    )
    assert (
        client.post(f"/api/v1/households/{household['id']}/reports", json=income, headers=cadre).status_code
        == 201
    )
    opened = client.post(
        "/api/v1/cases",
        json={"household_id": household["id"], "description": "户主突发脑梗住院"},
        headers=cadre,
    ).json()
    today = "2026-12-02"
    for step in (
        {
            "action": "verify",
            "visited_on": today,
            "visitors": ["李文"],
            "findings": "核实属实",
            "consent_signed": True,
        },
        {"action": "review", "held_on": today, "outcome": "agreed", "attendees": 21},
    ):
        assert case_action(client, cadre, opened["case_id"], **step).status_code == 200
    return {"body": body, "household": household}


def pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return text.replace(" ", "").replace("\n", "")


def test_the_public_notice_is_chinese_and_shows_nothing_a_notice_may_not(
    client: TestClient, accounts: Accounts, tmp_path: Path
) -> None:
    made = at_notice_step(client, accounts)
    url = f"/api/v1/villages/{VILLAGE_A}/public-notice.pdf"
    response = client.get(url, headers=accounts["cadre_a"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    (tmp_path / "notice.pdf").write_bytes(response.content)
    text = pdf_text(response.content)
    for shown in (
        "洛河彝族乡洛河村防止返贫监测对象识别公示",
        "王建国",
        "2人",
        "脱贫户",
        "拟纳入防止返贫监测对象",
        "2026年12月02日至2026年12月07日",
        "洛河村村民委员会",
    ):
        assert shown in text, (shown, text)
    forbidden = [m["id_number"] for m in made["body"]["members"]] + [
        m["id_number"][-4:] for m in made["body"]["members"]
    ]
    forbidden += [
        "13812345678",
        "5678",
        "患有大病",
        "长期慢性病",
        "大病",
        "12345",
        "12,345",
        "23456",
        "脑梗",
        "因病",
        "李秀英",
    ]
    assert [word for word in forbidden if word in text] == []


def test_a_notice_already_recorded_prints_with_its_own_period_beside_one_to_be_posted(
    client: TestClient, accounts: Accounts
) -> None:
    at_notice_step(client, accounts)
    recorded = at_notice_step(client, accounts)
    with db.session_scope() as session:
        case_id = session.scalar(select(Case.id).where(Case.household_id == recorded["household"]["id"]))
    posted = case_action(
        client, accounts["cadre_a"], int(case_id or 0), action="notice", starts_on="2026-12-04"
    )
    assert posted.status_code == 200, posted.text
    response = client.get(f"/api/v1/villages/{VILLAGE_A}/public-notice.pdf", headers=accounts["cadre_a"])
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    assert "各户的公示期见下表" in text
    assert "12月02日至12月07日" in text  # the one at the notice step, posted today
    assert "12月04日至12月09日" in text  # the one whose notice the case recorded


def test_the_notice_is_for_the_village_its_township_and_the_district(
    client: TestClient, accounts: Accounts
) -> None:
    at_notice_step(client, accounts)
    url = f"/api/v1/villages/{VILLAGE_A}/public-notice.pdf"
    for name in ("township_1", "district"):
        assert client.get(url, headers=accounts[name]).status_code == 200, name
    assert client.get(url, headers=accounts["cadre_b"]).status_code == 404
    assert client.get(url, headers=accounts["township_2"]).status_code == 404
    assert client.get(url, headers=accounts["department"]).status_code == 403
    nothing = client.get(f"/api/v1/villages/{VILLAGE_B}/public-notice.pdf", headers=accounts["cadre_b"])
    assert nothing.status_code == 404
    assert "notice step" in nothing.text
    far = client.get(url, params={"starts_on": "2027-03-01"}, headers=accounts["cadre_a"])
    assert far.status_code == 422
    assert "starts_on" in far.text


def test_a_county_that_masks_names_gets_them_masked(client: TestClient, accounts: Accounts) -> None:
    at_notice_step(client, accounts)
    policy = client.get("/api/v1/policy", headers=accounts["admin"]).json()
    changed = client.put(
        "/api/v1/policy",
        json={
            "public_notice_names": "masked",
            "public_notice_contact": "区乡村振兴局 0877-0000000",
            "version": policy["version"],
        },
        headers=accounts["admin"],
    )
    assert changed.status_code in (200, 201), changed.text
    text = pdf_text(
        client.get(f"/api/v1/villages/{VILLAGE_A}/public-notice.pdf", headers=accounts["cadre_a"]).content
    )
    assert "王*国" in text
    assert "王建国" not in text
    assert "0877-0000000" in text


def records(where: Any) -> dict[str, tuple[Any, ...]]:
    """Each household's monitoring record, as the decisions export carries it."""
    with db.session_scope() as session:
        return {
            h.household_no: (
                h.monitoring_status,
                h.monitoring_category,
                h.risk_types,
                h.monitored_since,
                h.risk_eliminated_on,
                h.household_type,
            )
            for h in session.scalars(select(Household).where(where))
        }


def test_the_decisions_export_imports_back_into_an_empty_district_with_the_same_records(
    client: TestClient, accounts: Accounts, tmp_path: Path
) -> None:
    assert run_import(national.write(tmp_path / "national.xlsx", national.district(30)))[0] == 0
    before = records(Household.monitoring_status != MonitoringStatus.not_monitored)
    assert len(before) == 6
    response = client.get(
        "/api/v1/exports/decisions.xlsx",
        params={"from": "2024-01-01", "to": "2024-12-31"},
        headers=accounts["district"],
    )
    assert response.status_code == 200, response.text
    exported = tmp_path / "decisions.xlsx"
    exported.write_bytes(response.content)
    sheet = load_workbook(exported).active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert list(table[0]) == list(mapping.load().columns.values())
    assert len(table) == 1 + 6 * 3
    with db.session_scope() as session:  # an empty district: the imported households are gone
        ids = select(Household.id).where(Household.household_no.like("IMP%"))
        members = select(Member.id).where(Member.household_id.in_(ids))
        session.execute(delete(MemberFact).where(MemberFact.member_id.in_(members)))
        session.execute(delete(Member).where(Member.household_id.in_(ids)))
        reports = select(Report.id).where(Report.household_id.in_(ids))
        session.execute(delete(ReportEvent).where(ReportEvent.report_id.in_(reports)))
        session.execute(delete(Report).where(Report.household_id.in_(ids)))
        session.execute(delete(Household).where(Household.id.in_(ids)))
    code, done = run_import(exported)
    assert code == 0, done
    assert done["households"]["create"] == 6
    assert records(Household.household_no.like("IMP%")) == before
    assert (
        client.get(
            "/api/v1/exports/decisions.xlsx",
            params={"from": "2024-01-01", "to": "2024-12-31"},
            headers=accounts["admin"],
        ).status_code
        == 403
    )
    backwards = client.get(
        "/api/v1/exports/decisions.xlsx",
        params={"from": "2024-12-31", "to": "2024-01-01"},
        headers=accounts["district"],
    )
    assert backwards.status_code == 422


def test_the_monthly_tables_count_by_township_and_category(
    client: TestClient, accounts: Accounts, tmp_path: Path
) -> None:
    assert run_import(national.write(tmp_path / "national.xlsx", national.district(30)))[0] == 0
    response = client.get(
        "/api/v1/exports/monthly.xlsx", params={"month": "2024-03"}, headers=accounts["district"]
    )
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["监测对象（月末）", "新识别监测对象", "风险消除", "帮扶措施", "逾期案件"]
    identified = list(book["新识别监测对象"].iter_rows(min_row=3, values_only=True))
    assert identified[0] == ("乡（镇）", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "合计")
    totals = identified[-1]
    assert totals[0] == "合计"
    assert totals[1:] == (3, 3, 0, 6)  # households 0, 10, 20 are 脱贫户; 5, 15, 25 一般农户
    response = client.get(
        "/api/v1/exports/monthly.xlsx", params={"month": "2025-06"}, headers=accounts["admin"]
    )
    assert response.status_code == 200, response.text
    june = load_workbook(io.BytesIO(response.content))
    assert list(june["风险消除"].iter_rows(min_row=3, values_only=True))[-1][1:] == (3, 0, 0, 3)
    assert list(june["监测对象（月末）"].iter_rows(min_row=3, values_only=True))[-1][1:] == (0, 3, 0, 3)
    assert (
        client.get(
            "/api/v1/exports/monthly.xlsx", params={"month": "2024-3"}, headers=accounts["district"]
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/exports/monthly.xlsx", params={"month": "2024-03"}, headers=accounts["township_1"]
        ).status_code
        == 403
    )
    # each file given out is on the audit trail, once; a refused one is not
    from app.models import AuditEntry

    with db.session_scope() as session:
        recorded = session.execute(
            select(AuditEntry.actor, AuditEntry.changes).where(AuditEntry.action == "export.monthly")
        ).all()
    assert sorted((actor, changes["month"]) for actor, changes in recorded) == [
        ("admin", "2025-06"),
        ("district", "2024-03"),
    ]


def test_the_office_writes_the_same_files_from_the_command_line(
    client: TestClient, accounts: Accounts, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from app.cli import main

    at_notice_step(client, accounts)
    assert run_import(national.write(tmp_path / "national.xlsx", national.district(10)))[0] == 0
    runner = CliRunner()
    notice = runner.invoke(main, ["export", "notice", VILLAGE_A, "--out", str(tmp_path / "n.pdf")])
    assert notice.exit_code == 0, notice.output
    assert "王建国" in pdf_text((tmp_path / "n.pdf").read_bytes())
    decided = runner.invoke(
        main,
        [
            "export",
            "decisions",
            "--from",
            "2024-01-01",
            "--to",
            "2024-12-31",
            "--out",
            str(tmp_path / "d.xlsx"),
        ],
    )
    assert decided.exit_code == 0, decided.output
    assert "2 households" in decided.output
    tables = runner.invoke(
        main, ["export", "monthly", "--month", "2024-03", "--out", str(tmp_path / "m.xlsx")]
    )
    assert tables.exit_code == 0, tables.output
    assert load_workbook(tmp_path / "m.xlsx").sheetnames[0] == "监测对象（月末）"
    refused = runner.invoke(
        main, ["export", "monthly", "--month", "March", "--out", str(tmp_path / "x.xlsx")]
    )
    assert refused.exit_code != 0
    assert "YYYY-MM" in refused.output
