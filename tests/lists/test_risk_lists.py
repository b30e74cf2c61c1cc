"""Weekly risk lists: frozen snapshots, week-over-week changes, JSON/CSV/XLSX exports, scope, charts."""

import csv
import io
import threading
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import time_machine
import xlsxwriter
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app import db
from app.clock import local_today
from app.config import Settings, get_settings
from app.models import AuditEntry, Case, Household, RiskList, RiskListEntry, RiskResult, RiskRun
from app.models.base import utcnow
from app.models.enums import MonitoringStatus
from app.risk import scorer
from app.schemas.policy import PolicyData
from app.services.cases import cases
from app.services.lists import risk_list_charts, risk_list_generation, risk_lists
from app.services.platform.access import Actor
from tests.fixtures import (
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    new_household,
    report_body,
)

API = "/api/v1/risk-lists"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THIS_WEEK = risk_lists.week_of(local_today())


def weeks_ago(n: int) -> str:
    return risk_lists.week_of(local_today() - timedelta(days=7 * n))


def results(levels: dict[int, str | None]) -> int:
    """A completed scoring run with the given levels (None: low, no reasons); returns its id."""
    reasons = {
        "high": [{"code": "income_below_line", "risk_type": "其他", "text": "人均纯收入 7,000 元 < 监测线"}],
        "medium": [{"code": "sharp_income_drop", "risk_type": "其他", "text": "收入比上年同期下降 35%"}],
    }
    with db.session_scope() as session:
        run = RiskRun(
            status="completed", as_of=local_today(), mode="rules", policy_version=1, triggered_by="test"
        )
        session.add(run)
        session.flush()
        for hid, level in levels.items():
            found = reasons.get(level or "", [])
            codes = "|" + "".join(f"{r['code']}|" for r in found)  # as the scorer writes it ("|": none)
            session.add(
                RiskResult(
                    run_id=run.id,
                    household_id=hid,
                    level=level or "low",
                    score=0.7 if level == "high" else 0.3 if level == "medium" else 0.05,
                    reasons=found,
                    reason_codes=codes,
                )
            )
        return run.id


def generate(settings: Settings, week: str, force: bool = False) -> RiskList:
    with db.session_scope() as session:
        made = risk_list_generation.generate(session, settings, Actor.system("test"), week, force)
        session.expunge(made)
        return made


def json_items(client: TestClient, headers: dict[str, str], week: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{week}", headers=headers, params={"page_size": 500, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


def workbook(body: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(body))


def sheet_values(book: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


@pytest.fixture
def district(client: TestClient, accounts: Accounts) -> dict[str, int]:
    """Households in villages A and B (township 1) and C (township 2); one address starts with "="."""
    made = {
        "a1": new_household(client, accounts["cadre_a"], address='=HYPERLINK("http://x")'),
        "a2": new_household(client, accounts["cadre_a"]),
        "b1": new_household(client, accounts["cadre_b"], village=VILLAGE_B),
        "c1": new_household(client, accounts["cadre_c"], village=VILLAGE_C),
        "c2": new_household(client, accounts["cadre_c"], village=VILLAGE_C),
    }
    return {k: int(v["id"]) for k, v in made.items()}


# ---- acceptance 1: frozen ---------------------------------------------------------------------------


def test_a_past_week_never_changes_when_the_data_does(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    cadre = accounts["cadre_a"]
    poor = int(new_household(client, cadre)["id"])
    quarter = report_body(
        "q", "2025-01-01", "2025-12-31", wages="12000", business="0", prop="0", transfer="0", cost="0"
    )
    assert client.post(f"/api/v1/households/{poor}/reports", json=quarter, headers=cadre).status_code == 201
    run = scorer.score_all(
        db.get_sessionmaker(), get_settings(), as_of=date(2026, 1, 15), triggered_by="test"
    )
    assert run.flagged_high >= 1
    generate(settings, THIS_WEEK)
    district = accounts["district"]
    before_json = client.get(f"{API}/{THIS_WEEK}", headers=district).content
    before_csv = client.get(f"{API}/{THIS_WEEK}", headers=district, params={"format": "csv"}).content
    before_xlsx = sheet_values(
        workbook(client.get(f"{API}/{THIS_WEEK}", headers=district, params={"format": "xlsx"}).content)
    )
    assert [
        i["household_id"] for i in client.get(f"{API}/{THIS_WEEK}", headers=district).json()["items"]
    ] == [poor]

    # the household's income recovers and it is rescored; its address changes too
    rich = report_body(
        "r", "2026-01-01", "2026-03-31", wages="90000", business="0", prop="0", transfer="0", cost="0"
    )
    assert client.post(f"/api/v1/households/{poor}/reports", json=rich, headers=cadre).status_code == 201
    with db.session_scope() as session:
        session.execute(update(Household).where(Household.id == poor).values(address="三组 9 号"))
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=date(2026, 4, 15), triggered_by="test")

    assert client.get(f"{API}/{THIS_WEEK}", headers=district).content == before_json
    assert client.get(f"{API}/{THIS_WEEK}", headers=district, params={"format": "csv"}).content == before_csv
    after = sheet_values(
        workbook(client.get(f"{API}/{THIS_WEEK}", headers=district | {"accept": XLSX}).content)
    )
    assert after == before_xlsx


# ---- acceptance 2: changes ---------------------------------------------------------------------------


def test_two_weeks_give_each_change_type(client: TestClient, accounts: Accounts, settings: Settings) -> None:
    ids = [int(new_household(client, accounts["cadre_a"])["id"]) for _ in range(7)]
    new, cont, up, down, eliminated, rejected, fell = ids
    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == eliminated)
            .values(monitoring_status=MonitoringStatus.monitored)
        )
        [signal] = cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(rejected, "cadre_report", "high", [])],
        )
        case_id = signal.case_id
    results({cont: "medium", up: "medium", down: "high", eliminated: None, rejected: None, fell: "high"})
    first = generate(settings, weeks_ago(1))

    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == eliminated)
            .values(monitoring_status=MonitoringStatus.risk_eliminated)
        )
        session.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(status="closed", outcome="rejected", closed_at=utcnow())
        )
    results(
        {
            new: "high",
            cont: "medium",
            up: "high",
            down: "medium",
            eliminated: None,
            rejected: None,
            fell: None,
        }
    )
    second = generate(settings, THIS_WEEK)
    assert second.previous_id == first.id
    assert (second.entries, second.resolved) == (4, 3)

    items = {i["household_id"]: i for i in json_items(client, accounts["district"], THIS_WEEK)}
    assert {hid: (items[hid]["change"], items[hid]["previous_level"]) for hid in (new, cont, up, down)} == {
        new: ("new", None),
        cont: ("continuing", "medium"),
        up: ("level_up", "medium"),
        down: ("level_down", "high"),
    }
    assert {
        hid: (items[hid]["change"], items[hid]["resolved_reason"]) for hid in (eliminated, rejected, fell)
    } == {
        eliminated: ("resolved", "risk_eliminated"),
        rejected: ("resolved", "case_rejected"),
        fell: ("resolved", "score_fell"),
    }
    only = json_items(client, accounts["district"], THIS_WEEK, change="resolved")
    assert {i["household_id"] for i in only} == {eliminated, rejected, fell}
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert summary["changes"] == {"new": 1, "continuing": 1, "level_up": 1, "level_down": 1, "resolved": 3}
    assert summary["households"] == 4


# ---- acceptance 3 and 4: formats and scope -----------------------------------------------------------


def test_exports_in_every_format(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    results(
        {district["a1"]: "high", district["a2"]: "medium", district["b1"]: "high", district["c1"]: "medium"}
    )
    generate(settings, THIS_WEEK)
    officer = accounts["district"]
    items = json_items(client, officer, THIS_WEEK)
    # by township code (小石桥 530402201… before 洛河 530402202…), village, household number
    assert [i["household_id"] for i in items] == [
        district["c1"],
        district["a1"],
        district["a2"],
        district["b1"],
    ]
    first = next(i for i in items if i["household_id"] == district["a1"])
    assert first["head_id_masked"].count("*") == 8
    assert first["address"].startswith("=")  # JSON carries the value as it is
    assert "人均纯收入" in first["reasons"]

    body = client.get(f"{API}/{THIS_WEEK}", headers=officer, params={"format": "csv"})
    assert body.headers["content-type"].startswith("text/csv")
    rows = csv_rows(body.content)
    assert rows[0][:4] == ["乡镇", "村", "村代码", "户编号"]
    # the same rows as the JSON, in the same order
    header = rows[0]
    assert [(r[3], r[header.index("户主身份证号")], r[header.index("风险分")]) for r in rows[1:]] == [
        (i["household_no"], i["head_id_masked"], str(i["score"])) for i in items
    ]
    address = rows[0].index("地址")
    escaped = [r[address] for r in rows[1:] if r[3] == first["household_no"]][0]
    assert escaped == "'" + first["address"]
    assert "洛河彝族乡" in body.content.decode("utf-8-sig")
    assert "高" in [r[rows[0].index("风险等级")] for r in rows[1:]]

    book = workbook(client.get(f"{API}/{THIS_WEEK}", headers=officer, params={"format": "xlsx"}).content)
    assert book.sheetnames[0] == "汇总"
    townships = book.sheetnames[1:]
    assert len(townships) == 2
    summary_sheet = book["汇总"]
    # the two charts, Excel's own, drawn from the figures written under the summary
    trend, reasons = summary_sheet._charts
    figures = [[c.value for c in row] for row in summary_sheet.iter_rows()]
    [trend_header] = [row for row in figures if row[0] == "周（高、中风险户数）"]
    townships_named = [v for v in trend_header[1:] if v]
    assert sorted(townships_named) == ["小石桥彝族乡", "洛河彝族乡"]
    assert [s.tx.strRef.f for s in trend.series] == [
        f"汇总!${col}${figures.index(trend_header) + 1}" for col in "BC"
    ]
    [reasons_header] = [row for row in figures if row[0] == "风险原因"]
    first_reason = figures[figures.index(reasons_header) + 1]
    assert first_reason[0] in risk_lists.REASON_LABELS.values()
    assert first_reason[1] >= 1
    assert reasons.series[0].val.numRef.f.startswith("汇总!$B$")
    for name in townships:
        ws = book[name]
        assert [c.value for c in ws[1]][:4] == ["乡镇", "村", "村代码", "户编号"]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref is not None
    values = sheet_values(book)
    cells = [v for t in townships for row in values[t][1:] for v in row]
    assert "'" + first["address"] in cells
    assert sorted(row[3] for t in townships for row in values[t][1:]) == sorted(
        i["household_no"] for i in items
    )


def test_a_township_reviewer_gets_only_their_township_in_every_format(
    district: dict[str, int],
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    results(dict.fromkeys(district.values(), "high"))
    generate(settings, THIS_WEEK)
    reviewer = accounts["township_2"]
    items = json_items(client, reviewer, THIS_WEEK)
    assert {i["household_id"] for i in items} == {district["c1"], district["c2"]}
    with caplog.at_level("INFO", logger="app.api.routes.risk_lists"):
        rows = csv_rows(client.get(f"{API}/{THIS_WEEK}", headers=reviewer, params={"format": "csv"}).content)
    assert {r[2] for r in rows[1:]} == {VILLAGE_C}
    [exported] = [r for r in caplog.records if r.getMessage() == "risk list exported"]
    # who, by the account's id: a username may be a person's name, never logged
    assert (exported.user_id, exported.format) == (accounts.ids["township_2"], "csv")  # type: ignore[attr-defined]
    book = workbook(client.get(f"{API}/{THIS_WEEK}", headers=reviewer, params={"format": "xlsx"}).content)
    assert len(book.sheetnames) == 2
    assert {row[2] for row in sheet_values(book)[book.sheetnames[1]][1:]} == {VILLAGE_C}
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=reviewer).json()
    assert [t["township_code"] for t in summary["by_township"]] == [TOWNSHIP_2]
    # asking for another township narrows to nothing, never widens
    assert json_items(client, reviewer, THIS_WEEK, township=TOWNSHIP_1) == []
    cadre_items = json_items(client, accounts["cadre_b"], THIS_WEEK)
    assert {i["household_id"] for i in cadre_items} == {district["b1"]}


def test_filters(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    results({district["a1"]: "high", district["a2"]: "medium", district["b1"]: "high"})
    with db.session_scope() as session:
        cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(district["a1"], "risk_scorer", "high", [])],
        )
        session.execute(update(Case).values(due_at=utcnow() - timedelta(days=1)))
    generate(settings, THIS_WEEK)
    officer = accounts["district"]

    def ids(**params: Any) -> set[int]:
        return {i["household_id"] for i in json_items(client, officer, THIS_WEEK, **params)}

    assert ids(level="medium") == {district["a2"]}
    assert ids(village=VILLAGE_B) == {district["b1"]}
    assert ids(reason="sharp_income_drop") == {district["a2"]}
    assert ids(overdue=True) == {district["a1"]}
    assert ids(change="new") == {district["a1"], district["a2"], district["b1"]}
    for bad in (
        {"level": "severe"},
        {"change": "gone"},
        {"village": "12"},
        {"format": "pdf"},
        {"reason": "A;B"},
    ):
        response = client.get(f"{API}/{THIS_WEEK}", headers=officer, params=bad)
        assert (response.status_code, response.json()["field"]) == (422, next(iter(bad)))


# ---- generation: who, when, force -------------------------------------------------------------------


def test_generation_is_for_admins_and_a_week_is_regenerated_only_with_force(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    results({district["a1"]: "high"})
    admin = accounts["admin"]
    assert client.post(f"{API}/{THIS_WEEK}", headers=accounts["district"]).status_code == 403
    future = risk_lists.week_of(local_today() + timedelta(days=14))
    assert client.post(f"{API}/{future}", headers=admin).status_code == 422
    assert client.post(f"{API}/2026-W54", headers=admin).json()["field"] == "week"
    made = client.post(f"{API}/{THIS_WEEK}", headers=admin)
    assert made.status_code == 201, made.text
    again = client.post(f"{API}/{THIS_WEEK}", headers=admin)
    assert (again.status_code, again.json()["field"]) == (409, "force")
    results({district["a1"]: "high", district["b1"]: "high"})
    forced = client.post(f"{API}/{THIS_WEEK}", headers=admin, params={"force": True})
    assert forced.status_code == 201
    listed = client.get(API, headers=admin).json()
    assert [(w["week"], w["status"], w["entries"]) for w in listed] == [
        (THIS_WEEK, "current", 2),
        (THIS_WEEK, "superseded", 1),
    ]
    assert len(json_items(client, accounts["district"], "latest")) == 2
    assert client.get(f"{API}/{THIS_WEEK}", headers=admin).status_code == 403  # admins read no household data
    with db.session_scope() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "risk_list.generate").order_by(AuditEntry.seq)
        ).all()
        assert [a.changes["force"] for a in audited] == [False, True]
        assert audited[1].changes["superseded"] == made.json()["id"]
    assert client.get(f"{API}/{weeks_ago(5)}", headers=accounts["district"]).status_code == 404


def test_the_weekly_job_twice_at_once_freezes_one_list(district: dict[str, int], settings: Settings) -> None:
    from app.worker import jobs

    results({district["a1"]: "high"})
    errors: list[BaseException] = []

    def job() -> None:
        try:
            jobs.weekly_risk_list()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    job()  # and again later: the week exists
    assert errors == []
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RiskList)) == 1


def test_the_cli_exports_a_township(district: dict[str, int], settings: Settings, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from app.cli import main

    results(dict.fromkeys(district.values(), "high"))
    runner = CliRunner()
    made = runner.invoke(main, ["lists", "generate", "--week", "current"])
    assert made.exit_code == 0, made.output
    out = tmp_path / "list.csv"
    exported = runner.invoke(
        main,
        [
            "lists",
            "export",
            "--week",
            "latest",
            "--format",
            "csv",
            "--out",
            str(out),
            "--township",
            TOWNSHIP_2,
        ],
    )
    assert exported.exit_code == 0, exported.output
    rows = csv_rows(out.read_bytes())
    assert {r[2] for r in rows[1:]} == {VILLAGE_C}
    json_out = tmp_path / "list.json"
    assert (
        runner.invoke(
            main, ["lists", "export", "--week", "latest", "--format", "json", "--out", str(json_out)]
        ).exit_code
        == 0
    )
    import json

    assert len(json.loads(json_out.read_text())["items"]) == len(district)
    bad = runner.invoke(
        main, ["lists", "export", "--week", "latest", "--format", "csv", "--out", str(out), "--township", "x"]
    )
    assert bad.exit_code != 0


def test_the_cli_csv_export_loads_neither_scikit_learn_nor_matplotlib(
    district: dict[str, int], settings: Settings, tmp_path: Any
) -> None:
    """A county's CSV is written in seconds; importing scikit-learn (for the workbook's summary) took 3.5 s
    of it before the first row. Checked in a fresh process, as the command runs."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from click.testing import CliRunner

    from app.cli import main

    results(dict.fromkeys(district.values(), "high"))
    assert CliRunner().invoke(main, ["lists", "generate", "--week", "current"]).exit_code == 0
    out = tmp_path / "list.csv"
    command = ["lists", "export", "--week", "latest", "--format", "csv", "--out", str(out), "--quiet"]
    script = (
        "import sys\n"
        "from app.cli import main\n"
        f"main({command!r}, standalone_mode=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'matplotlib', 'scipy'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert len(csv_rows(out.read_bytes())) == len(district) + 1


# ---- acceptance 5: charts ---------------------------------------------------------------------------


def test_charts_render_chinese_with_a_cjk_font(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    results({district["a1"]: "high", district["c1"]: "medium"})
    generate(settings, weeks_ago(1))
    generate(settings, THIS_WEEK)
    assert "CJK" in risk_list_charts.cjk_font() or "WenQuanYi" in risk_list_charts.cjk_font()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in risk_list_charts.NAMES:
            response = client.get(f"{API}/{THIS_WEEK}/charts/{name}.png", headers=accounts["district"])
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "image/png"
            assert response.content.startswith(b"\x89PNG")
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
    assert client.get(f"{API}/{THIS_WEEK}/charts/pie.png", headers=accounts["district"]).status_code == 404


def test_summary_counts(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == district["c2"])
            .values(monitoring_status=MonitoringStatus.monitored, risk_types=["因病", "因学"])
        )
    results({district["a1"]: "high", district["b1"]: "medium", district["c1"]: "high", district["c2"]: None})
    generate(settings, THIS_WEEK)
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert summary["households"] == 4
    levels = {t["township_code"]: (t["high"], t["medium"], t["low"]) for t in summary["by_township"]}
    assert levels == {TOWNSHIP_1: (1, 1, 0), TOWNSHIP_2: (1, 0, 1)}
    assert summary["by_reason"] == {"income_below_line": 2, "sharp_income_drop": 1}  # no empty code
    monitored = [
        i for i in json_items(client, accounts["district"], THIS_WEEK) if i["household_id"] == district["c2"]
    ]
    assert monitored[0]["reason_codes"] == []
    # most first, and equal counts by code, so the same list always reads (and draws) the same
    assert list(summary["by_risk_type"].items()) == [("其他", 3), ("因学", 1), ("因病", 1)]
    assert summary["confirmed_risk_types_with_measure"] == 0.0  # two confirmed types, no measure
    assert summary["median_days_to_decision"] is None


def test_weeks_are_ascii_and_a_past_week_cannot_be_made_once_a_later_one_exists(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    admin = accounts["admin"]
    full_width = THIS_WEEK.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    refused = client.post(f"{API}/{full_width}", headers=admin)
    assert (refused.status_code, refused.json()["field"]) == (422, "week")
    assert client.post(f"{API}/{THIS_WEEK}", headers=admin).status_code == 201
    late = client.post(f"{API}/{weeks_ago(2)}", headers=admin)
    assert (late.status_code, late.json()["field"]) == (409, "week")


def test_counts_and_charts_are_those_of_the_callers_region(
    district: dict[str, int],
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib.axes import Axes

    results(dict.fromkeys(district.values(), "high"))
    generate(settings, THIS_WEEK)
    [listed] = client.get(API, headers=accounts["cadre_c"]).json()
    assert listed["entries"] == 2  # village C's two, not the county's five
    page = client.get(f"{API}/{THIS_WEEK}", headers=accounts["township_1"]).json()
    assert (page["risk_list"]["entries"], page["total"]) == (3, 3)
    assert client.get(API, headers=accounts["district"]).json()[0]["entries"] == 5
    rows = csv_rows(
        client.get(f"{API}/{THIS_WEEK}", headers=accounts["cadre_a"], params={"format": "csv"}).content
    )
    assert {r[2] for r in rows[1:]} == {VILLAGE_A}
    lines: dict[str, list[int]] = {}
    plot = Axes.plot

    def record(self: Axes, x: Any, y: Any, **kwargs: Any) -> Any:
        lines[kwargs["label"]] = list(y)
        return plot(self, x, y, **kwargs)

    monkeypatch.setattr(Axes, "plot", record)
    chart = client.get(f"{API}/{THIS_WEEK}/charts/flagged-by-township.png", headers=accounts["township_2"])
    assert chart.status_code == 200
    assert lines == {"小石桥彝族乡": [2]}  # one line: the reviewer's township, its two households


def test_a_week_with_no_one_at_risk_gives_a_workbook_that_says_so(
    client: TestClient, accounts: Accounts
) -> None:
    """No township has a household at high or medium risk, and no reason: the summary says so where
    the charts' figures would be, and draws no empty chart (Excel would refuse a chart of no series)."""
    new_household(client, accounts["cadre_a"])
    with db.session_scope() as session:
        risk_list_generation.generate(session, get_settings(), Actor.system("test"), THIS_WEEK)
    body = client.get(f"{API}/{THIS_WEEK}", headers=accounts["district"], params={"format": "xlsx"})
    assert body.status_code == 200, body.text
    summary_sheet = workbook(body.content)["汇总"]
    assert summary_sheet._charts == []
    figures = [[c.value for c in row][:2] for row in summary_sheet.iter_rows()]
    assert ["周（高、中风险户数）", "无高、中风险户"] in figures
    assert ["无风险原因", 0] in figures


def test_workbook_sheet_names_and_text_stay_text(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    from app.services.lists import risk_list_workbook

    book = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    names = []
    for name, code in (("'Abc'", "530402001000"), ("abc", "530402002000"), ("[]:*?/\\\\", "530402003000")):
        names.append(risk_list_workbook._sheet_name(book, name, code))
        book.add_worksheet(names[-1])
    assert names == ["Abc", "abc530402002000", "530402003000"]
    hid = int(new_household(client, accounts["cadre_a"], address="http://evil.example/x")["id"])
    results({hid: "high"})
    generate(settings, THIS_WEEK)
    xlsx = workbook(
        client.get(f"{API}/{THIS_WEEK}", headers=accounts["district"], params={"format": "xlsx"}).content
    )
    sheet = xlsx[xlsx.sheetnames[1]]
    cell = next(c for c in sheet[2] if c.value == "http://evil.example/x")
    assert cell.hyperlink is None


def test_summary_decisions_measures_and_steps(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    from app.models import Assistance

    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == district["c2"])
            .values(monitoring_status=MonitoringStatus.monitored, risk_types=["因病", "因学"])
        )
        session.add(
            Assistance(
                household_id=district["c2"],
                category="健康帮扶",
                item="大病救助",
                department="医保局",
                started_on=local_today(),
                status="in_progress",
                created_by="t",
            )
        )
        rows = cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(district[k], "risk_scorer", "high", []) for k in ("a1", "a2", "c1")],
        )
        decided = [r.case_id for r in rows]
        opened = utcnow() - timedelta(days=30)
        for case_id, days in zip(decided[1:], (12, 15), strict=True):
            session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(
                    status="closed",
                    outcome="confirmed",
                    opened_at=opened,
                    closed_at=opened + timedelta(days=days),
                )
            )
        session.execute(update(Case).where(Case.id == decided[0]).values(due_at=utcnow() - timedelta(days=1)))
    generate(settings, THIS_WEEK)
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert summary["cases_by_step"] == {"village_verification": 1}
    assert summary["overdue_cases"] == 1
    assert summary["confirmed_risk_types_with_measure"] == 0.5  # 因病 has 健康帮扶; 因学 nothing
    # opened 30 days ago, decided after 12 and 15 days: before the week before the list, not counted
    assert (summary["decisions"], summary["median_days_to_decision"]) == (0, None)
    with db.session_scope() as session:  # now decided yesterday, after 4 and 7 days
        for case_id, days in zip(decided[1:], (4, 7), strict=True):
            session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(opened_at=utcnow() - timedelta(days=days + 1), closed_at=utcnow() - timedelta(days=1))
            )
    generate(settings, THIS_WEEK, force=True)
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert (summary["decisions"], summary["median_days_to_decision"]) == (2, 5.5)
    township = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["township_2"]).json()
    assert township["decisions"] == 1  # c1's case only: decisions are counted in the caller's region


def test_the_catch_up_generates_a_missed_week(
    district: dict[str, int],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    clock: time_machine.Traveller,
) -> None:
    from app.worker import jobs

    results({district["a1"]: "high"})
    # Wednesday 01:30 in Hongta is still Tuesday evening on a UTC host: the district's time decides
    clock.move_to(datetime(2026, 12, 1, 17, 30, tzinfo=UTC))
    monkeypatch.setattr(jobs, "get_settings", lambda: settings)  # the job reads these settings
    monkeypatch.setattr(settings, "risk_list_cron", "0 6 * * 3")  # Wednesday 06:00: not yet
    jobs.risk_list_catch_up()
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RiskList)) == 0  # not due yet
    monkeypatch.setattr(settings, "risk_list_cron", "59 23 * * 2")  # Tuesday 23:59: past, in Hongta
    jobs.risk_list_catch_up()
    jobs.risk_list_catch_up()
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RiskList)) == 1


def test_key_rotation_rewraps_the_frozen_head_ids(
    district: dict[str, int],
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.fernet import Fernet

    from app.pii import cipher_for
    from app.services.platform import keys

    results({district["a1"]: "high"})
    generate(settings, THIS_WEEK)
    before = json_items(client, accounts["district"], THIS_WEEK)[0]["head_id_masked"]
    old_keys = settings.encryption_keys.get_secret_value()
    new_key = Fernet.generate_key().decode()
    monkeypatch.setattr(settings, "encryption_keys", type(settings.encryption_keys)(f"{new_key},{old_keys}"))
    with db.session_scope() as session:
        keys.rewrap(session, settings, Actor.system("test"))
    monkeypatch.setattr(settings, "encryption_keys", type(settings.encryption_keys)(new_key))
    with db.session_scope() as session:
        token = session.scalars(select(RiskListEntry.head_id_encrypted)).first()
    assert token is not None
    assert cipher_for(settings).decrypt(token)[-4:] == before[-4:]  # readable with the new key alone


def test_crontab_weekdays_are_read_as_cron_reads_them() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app.worker.crontab import cron

    monday = datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    for expression, day in (
        ("0 6 * * 1", "Mon"),
        ("0 3 * * 0", "Sun"),
        ("0 3 * * 7", "Sun"),
        ("0 1 * * 2-4", "Tue"),
    ):
        fires = cron(expression, "Asia/Shanghai").get_next_fire_time(None, monday)
        assert fires is not None
        assert fires.strftime("%a") == day, expression


# ---- the dashboard's figures: overdue cases by township, the 12-week trend -------------------------


def test_the_summary_has_overdue_cases_by_township_and_the_trend_the_chart_draws(
    district: dict[str, int],
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib.axes import Axes

    results({district["a1"]: "high", district["c1"]: "medium"})
    generate(settings, weeks_ago(2))
    results({district["a1"]: "high", district["a2"]: "medium", district["c1"]: "high"})
    generate(settings, weeks_ago(1))
    with db.session_scope() as session:
        cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(district[k], "risk_scorer", "high", []) for k in ("a1", "b1", "c2")],
        )
        late = [district["a1"], district["b1"]]  # township 1's two; c2's case (township 2) is on time
        session.execute(
            update(Case).where(Case.household_id.in_(late)).values(due_at=utcnow() - timedelta(days=1))
        )
    results(
        {district["a2"]: "high", district["b1"]: "medium", district["c1"]: "high", district["c2"]: "high"}
    )
    generate(settings, THIS_WEEK)

    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert {t["township_code"]: t["overdue_cases"] for t in summary["by_township"]} == {
        TOWNSHIP_1: 2,
        TOWNSHIP_2: 0,
    }
    assert summary["overdue_cases"] == 2
    assert [(w["week"], w["high"], w["medium"]) for w in summary["trend"]] == [
        (weeks_ago(2), 1, 1),
        (weeks_ago(1), 2, 1),
        (THIS_WEEK, 3, 1),  # a1 is low now (on the list for its case): not counted
    ]
    by_week = {
        w["week"]: {t["township_code"]: (t["high"], t["medium"]) for t in w["by_township"]}
        for w in summary["trend"]
    }
    assert by_week[weeks_ago(2)] == {TOWNSHIP_1: (1, 0), TOWNSHIP_2: (0, 1)}
    assert by_week[THIS_WEEK] == {TOWNSHIP_1: (1, 1), TOWNSHIP_2: (2, 0)}
    assert summary["reason_labels"]["income_below_line"] == "收入低于监测线"
    listed = client.get(f"{API}/{THIS_WEEK}", headers=accounts["district"]).json()
    assert listed["reason_labels"]["sharp_income_drop"] == "收入骤减"  # the words of the `reason` filter
    # an earlier week's trend ends at that week
    earlier = client.get(f"{API}/{weeks_ago(1)}/summary", headers=accounts["district"]).json()
    assert [w["week"] for w in earlier["trend"]] == [weeks_ago(2), weeks_ago(1)]

    # a township reviewer: their township's figures only, in the trend too
    mine = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["township_2"]).json()
    assert [(t["township_code"], t["overdue_cases"]) for t in mine["by_township"]] == [(TOWNSHIP_2, 0)]
    assert [(w["high"], w["medium"]) for w in mine["trend"]] == [(0, 1), (1, 0), (2, 0)]
    assert {t["township_code"] for w in mine["trend"] for t in w["by_township"]} == {TOWNSHIP_2}
    narrowed = client.get(
        f"{API}/{THIS_WEEK}/summary", headers=accounts["township_1"], params={"village": VILLAGE_B}
    ).json()
    assert [(w["high"], w["medium"]) for w in narrowed["trend"]] == [(0, 0), (0, 0), (0, 1)]

    # the PNG chart draws the summary's trend: a line per township, high and medium together
    lines: dict[str, list[int]] = {}
    plot = Axes.plot

    def record(self: Axes, x: Any, y: Any, **kwargs: Any) -> Any:
        lines[kwargs["label"]] = list(y)
        return plot(self, x, y, **kwargs)

    monkeypatch.setattr(Axes, "plot", record)
    chart = client.get(f"{API}/{THIS_WEEK}/charts/flagged-by-township.png", headers=accounts["district"])
    assert chart.status_code == 200
    assert lines == {"洛河彝族乡": [1, 2, 2], "小石桥彝族乡": [1, 1, 2]}


def test_a_village_cadre_reads_the_list_but_not_the_summary(
    district: dict[str, int], client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    results({district["a1"]: "high"})
    generate(settings, THIS_WEEK)
    cadre = accounts["cadre_a"]
    assert [i["household_id"] for i in json_items(client, cadre, THIS_WEEK)] == [district["a1"]]
    for path in (f"{API}/{THIS_WEEK}/summary", f"{API}/{THIS_WEEK}/charts/reasons.png"):
        refused = client.get(path, headers=cadre)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), path
    assert client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["admin"]).status_code == 403


def test_the_head_id_is_masked_when_the_list_is_made_and_exports_decrypt_nothing(
    district: dict[str, int],
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.pii import PiiCipher

    results({district["a1"]: "high", district["c1"]: "medium"})
    generate(settings, THIS_WEEK)
    with db.session_scope() as session:
        found = session.execute(select(RiskListEntry.household_id, RiskListEntry.head_id_masked)).tuples()
        stored: dict[int, str | None] = dict(found.all())
    masked = stored[district["a1"]]
    assert masked is not None
    assert masked.count("*") == 8

    def refuse(self: PiiCipher, token: bytes) -> str:
        raise AssertionError("an export decrypted an ID number")

    officer = accounts["district"]
    with monkeypatch.context() as patched:
        patched.setattr(PiiCipher, "decrypt", refuse)
        items = json_items(client, officer, THIS_WEEK)
        rows = csv_rows(client.get(f"{API}/{THIS_WEEK}", headers=officer, params={"format": "csv"}).content)
    assert {i["household_id"]: i["head_id_masked"] for i in items} == stored
    column = rows[0].index("户主身份证号")
    assert sorted(r[column] for r in rows[1:]) == sorted(v for v in stored.values() if v)

    # a list made before masked IDs were kept: its export masks the encrypted number, as before
    with db.session_scope() as session:
        session.execute(update(RiskListEntry).values(head_id_masked=None))
    assert {i["household_id"]: i["head_id_masked"] for i in json_items(client, officer, THIS_WEEK)} == stored
