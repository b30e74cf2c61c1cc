"""The district office in a browser: the week's dashboard shows exactly the API's summary (this week and
an earlier one, the trend drawn as SVG with its figures as a table), the weekly list's download buttons
give the API's own CSV and XLSX for the same filters, the model card shows the API's figures; a village
cadre gets none of it. Screenshots at desk and phone widths, no sideways scrolling at 360 px."""

import io
from datetime import date, timedelta
from typing import Any

import numpy as np
import openpyxl
import sklearn
from fastapi.testclient import TestClient
from playwright.sync_api import Locator, Page, expect
from sklearn.dummy import DummyClassifier
from sqlalchemy import update

from app import db
from app.clock import local_today
from app.config import Settings
from app.models import Case, ClusterAlert, Household, RiskModel
from app.models.base import utcnow
from app.models.enums import MonitoringStatus
from app.risk import features as ft
from app.risk import model as ml
from app.risk import training
from app.schemas.policy import PolicyData
from app.services.cases import cases
from app.services.platform.access import Actor
from tests.fixtures import (
    PASSWORD,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    new_household,
)
from tests.lists.test_risk_lists import THIS_WEEK, generate, results, weeks_ago
from tests.web.conftest import shot

API = "/api/v1/risk-lists"


LANDING = {"cadre_a": "农户"}  # the others land on their case inbox


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    # the landing page has drawn (it would take the address back if the menu were used before)
    expect(page.get_by_role("heading", name=LANDING.get(username, "待办案件"))).to_be_visible()
    page.wait_for_load_state("networkidle")


def _district(client: TestClient, accounts: Accounts, settings: Settings) -> dict[str, int]:
    """Two townships' households scored over two weeks, two frozen lists; open cases, two of them
    overdue (one in each township), one decided in the week before this week's list."""
    made = {
        "a1": new_household(client, accounts["cadre_a"]),
        "a2": new_household(client, accounts["cadre_a"]),
        "a3": new_household(client, accounts["cadre_a"]),
        "b1": new_household(client, accounts["cadre_b"], village=VILLAGE_B),
        "c1": new_household(client, accounts["cadre_c"], village=VILLAGE_C),
        "c2": new_household(client, accounts["cadre_c"], village=VILLAGE_C),
        "c3": new_household(client, accounts["cadre_c"], village=VILLAGE_C),
    }
    ids = {k: int(v["id"]) for k, v in made.items()}
    results({ids["a1"]: "high", ids["a2"]: "medium", ids["c1"]: "high", ids["c3"]: "medium"})
    generate(settings, weeks_ago(1))
    with db.session_scope() as session:
        signals = cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(ids[k], "risk_scorer", "high", []) for k in ("a1", "b1", "c2", "c3")],
        )
        by_household = {ids[k]: s.case_id for k, s in zip(("a1", "b1", "c2", "c3"), signals, strict=True)}
        late = [by_household[ids["a1"]], by_household[ids["c2"]]]
        session.execute(update(Case).where(Case.id.in_(late)).values(due_at=utcnow() - timedelta(days=2)))
        session.execute(
            update(Case)
            .where(Case.id == by_household[ids["c3"]])
            .values(
                status="closed",
                outcome="confirmed",
                opened_at=utcnow() - timedelta(days=9),
                closed_at=utcnow() - timedelta(days=2),
            )
        )
        # a monitored household nobody is paired with: a gap the dashboard shows
        session.execute(
            update(Household)
            .where(Household.id == ids["a1"])
            .values(monitoring_status=MonitoringStatus.monitored)
        )
        # a village hit at once this week
        session.add(
            ClusterAlert(
                level="village",
                region_code=VILLAGE_A,
                township_code=TOWNSHIP_1,
                window_start=local_today() - timedelta(days=6),
                window_end=local_today(),
                households=[ids["a1"], ids["a2"], ids["a3"]],
                signals=3,
                dominant_reason="因自然灾害",
                reasons={"因自然灾害": 3},
            )
        )
    results(
        {ids["a2"]: "high", ids["a3"]: "high", ids["b1"]: "medium", ids["c1"]: "high", ids["c2"]: "medium"}
    )
    generate(settings, THIS_WEEK)
    return ids


def _figure(page: Page | Locator, selector: str) -> int:
    return int(page.locator(selector).inner_text().replace(",", ""))


def _check_dashboard(page: Page, summary: dict[str, Any]) -> None:
    """Every figure on the dashboard against the API's summary of the same week."""
    expect(page.get_by_role("heading", name="本周概况")).to_be_visible()
    expect(page.locator(f'.dash-figures[data-week="{summary["week"]}"]')).to_be_visible()  # drawn
    expect(page.get_by_label("周次")).to_have_value(summary["week"])
    assert _figure(page, '.dash-figures [data-figure="households"]') == summary["households"]
    assert _figure(page, '.dash-figures [data-figure="new"]') == summary["changes"]["new"]
    assert _figure(page, '.dash-figures [data-figure="resolved"]') == summary["changes"]["resolved"]
    assert _figure(page, '.dash-figures [data-figure="overdue"]') == summary["overdue_cases"]
    assert (
        _figure(page, '.dash-figures [data-figure="without-helper"]') == summary["monitored_without_helper"]
    )
    alerts = page.locator("#cluster-alerts li")
    expect(alerts).to_have_count(len(summary["cluster_alerts"]))
    for i, alert in enumerate(summary["cluster_alerts"]):
        expect(alerts.nth(i)).to_contain_text(f"{alert['region_name']}（村）")
        expect(alerts.nth(i)).to_contain_text(f"有 {alert['households']} 户出现新的风险信号")
    median = page.locator('.dash-figures [data-figure="median"]').inner_text()
    expected = summary["median_days_to_decision"]
    assert median == ("—" if expected is None else str(expected).removesuffix(".0"))
    rows = page.locator("#by-township tbody tr")
    expect(rows).to_have_count(len(summary["by_township"]))
    for t in summary["by_township"]:
        row = page.locator(f'#by-township tr[data-township="{t["township_code"]}"]')
        expect(row.locator("th")).to_have_text(t["township_name"])
        for name in ("high", "medium", "low"):
            assert _figure(row, f'[data-figure="{name}"]') == t[name], (t, name)
        assert _figure(row, '[data-figure="overdue"]') == t["overdue_cases"]
        assert _figure(row, '[data-figure="without-helper"]') == t["monitored_without_helper"]
    for code, n in summary["changes"].items():
        assert _figure(page, f'#changes [data-figure="{code}"]') == n
    steps = page.locator("#steps tbody tr")
    expect(steps).to_have_count(len(summary["cases_by_step"]))
    for step, n in summary["cases_by_step"].items():
        assert _figure(page, f'#steps [data-figure="{step}"]') == n
    # the trend: drawn in the browser, its figures in the table beside it
    chart = page.locator(".dash-chart svg")
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator("title").first).to_contain_text("近")
    expect(chart.locator("g.dash-week")).to_have_count(len(summary["trend"]))
    page.get_by_text("查看各周数字").click()
    for week in summary["trend"]:
        row = page.locator(f'.dash-trend-table tr[data-week="{week["week"]}"]')
        assert _figure(row, '[data-figure="high"]') == week["high"]
        assert _figure(row, '[data-figure="medium"]') == week["medium"]


def test_the_dashboard_shows_the_apis_summary_and_draws_the_trend(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    _district(client, accounts, settings)
    officer = accounts["district"]
    phone.set_viewport_size({"width": 1280, "height": 900})
    _log_in(phone, live_server, "district")
    expect(phone.get_by_role("link", name="本周概况", exact=True)).to_be_visible()
    phone.get_by_role("link", name="本周概况", exact=True).click()
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=officer).json()
    assert (summary["overdue_cases"], summary["median_days_to_decision"]) == (2, 7)  # as set up
    assert [t["overdue_cases"] for t in summary["by_township"]] == [1, 1]
    assert summary["monitored_without_helper"] == 1  # as set up
    assert [a["region_code"] for a in summary["cluster_alerts"]] == [VILLAGE_A]
    _check_dashboard(phone, summary)
    # one township's trend: the chart and the table follow the choice
    phone.get_by_label("范围").select_option(TOWNSHIP_2)
    expect(phone.locator(".dash-chart svg title").first).to_contain_text("小石桥彝族乡")
    phone.get_by_text("查看各周数字").click()
    for week in summary["trend"]:
        [mine] = [t for t in week["by_township"] if t["township_code"] == TOWNSHIP_2]
        row = phone.locator(f'.dash-trend-table tr[data-week="{week["week"]}"]')
        assert _figure(row, '[data-figure="high"]') == mine["high"]
        assert _figure(row, '[data-figure="medium"]') == mine["medium"]
    phone.get_by_label("范围").select_option("")
    shot(phone, "dashboard-1280")

    # an earlier week, chosen on the page
    phone.get_by_label("周次").select_option(weeks_ago(1))
    phone.get_by_role("button", name="查看").click()
    expect(phone).to_have_url(f"{live_server}/#/dashboard/{weeks_ago(1)}")
    _check_dashboard(phone, client.get(f"{API}/{weeks_ago(1)}/summary", headers=officer).json())

    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{live_server}/#/dashboard")
    _check_dashboard(phone, summary)
    shot(phone, "dashboard-390")
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()
    expect(phone.get_by_role("heading", name="本周概况")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def _sheets(body: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def test_the_weekly_list_filters_pages_and_downloads_the_apis_files(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    _district(client, accounts, settings)
    officer = accounts["district"]
    phone.set_viewport_size({"width": 1280, "height": 900})
    _log_in(phone, live_server, "district")
    phone.get_by_role("link", name="风险名单", exact=True).click()
    expect(phone.get_by_role("heading", name="风险名单")).to_be_visible()
    everything = client.get(f"{API}/{THIS_WEEK}", headers=officer, params={"page_size": 500}).json()
    expect(phone.locator("#entries tbody tr")).to_have_count(everything["total"])
    expect(phone.locator("#list-total")).to_contain_text(f"共 {everything['total']} 户")

    def downloaded(name: str) -> bytes:
        with phone.expect_download() as download:
            phone.get_by_role("link", name=name).click()
        return download.value.path().read_bytes()

    # the whole week: the same files as the API's
    assert (
        downloaded("下载 CSV")
        == client.get(f"{API}/{THIS_WEEK}", headers=officer, params={"format": "csv"}).content
    )
    assert _sheets(downloaded("下载 Excel")) == _sheets(
        client.get(f"{API}/{THIS_WEEK}", headers=officer, params={"format": "xlsx"}).content
    )
    shot(phone, "list-1280")

    # filtered: township 1, high risk; the table, the count and both files follow
    phone.get_by_label("乡镇").select_option(TOWNSHIP_1)
    phone.get_by_label("风险等级").select_option("high")
    phone.get_by_role("button", name="筛选").click()
    filters = {"township": TOWNSHIP_1, "level": "high"}
    expected = client.get(f"{API}/{THIS_WEEK}", headers=officer, params=filters).json()
    assert expected["total"] == 2
    rows = phone.locator("#entries tbody tr")
    expect(rows).to_have_count(expected["total"])
    assert [rows.nth(i).get_attribute("data-household") for i in range(expected["total"])] == [
        i["household_no"] for i in expected["items"]
    ]
    expect(phone.get_by_label("乡镇")).to_have_value(TOWNSHIP_1)
    csv_file = downloaded("下载 CSV")
    assert (
        csv_file
        == client.get(f"{API}/{THIS_WEEK}", headers=officer, params=filters | {"format": "csv"}).content
    )
    assert csv_file.decode("utf-8-sig").count("\n") == 3  # a header and the two households
    assert _sheets(downloaded("下载 Excel")) == _sheets(
        client.get(f"{API}/{THIS_WEEK}", headers=officer, params=filters | {"format": "xlsx"}).content
    )

    # overdue cases and a reason, in words from the API
    phone.get_by_role("link", name="清除筛选").click()
    expect(rows).to_have_count(everything["total"])
    phone.get_by_label("案件逾期").select_option("true")
    phone.get_by_label("风险原因").select_option(label="收入骤减")
    phone.get_by_role("button", name="筛选").click()
    filters = {"overdue": "true", "reason": "sharp_income_drop"}
    expected = client.get(f"{API}/{THIS_WEEK}", headers=officer, params=filters).json()
    assert expected["total"] == 1  # c2: its case is overdue, its income fell
    expect(rows).to_have_count(1)
    assert (
        downloaded("下载 CSV")
        == client.get(f"{API}/{THIS_WEEK}", headers=officer, params=filters | {"format": "csv"}).content
    )

    # the access cookie expired while the page stood open: renewed before the browser fetches the file
    phone.context.clear_cookies(name="sw_access")
    assert (
        downloaded("下载 CSV")
        == client.get(f"{API}/{THIS_WEEK}", headers=officer, params=filters | {"format": "csv"}).content
    )
    expired = f"the server responded with a status of 401 (Unauthorized) {live_server}/api/v1/auth/me"
    assert phone.console_errors == [f"Failed to load resource: {expired}"]  # type: ignore[attr-defined]
    phone.console_errors.clear()  # type: ignore[attr-defined]  # the browser logs that 401 itself

    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{live_server}/#/lists")
    expect(rows).to_have_count(everything["total"])
    shot(phone, "list-390")
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()
    expect(rows).to_have_count(everything["total"])
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_the_list_pages_by_fifty(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    ids = [int(new_household(client, accounts["cadre_a"])["id"]) for _ in range(53)]
    results(dict.fromkeys(ids, "high"))
    generate(settings, THIS_WEEK)
    accounts.create("township_1")
    _log_in(phone, live_server, "township_1")
    phone.get_by_role("link", name="风险名单", exact=True).click()
    rows = phone.locator("#entries tbody tr")
    expect(rows).to_have_count(50)
    expect(phone.locator("#list-total")).to_have_text("共 53 户，第 1 / 2 页")
    phone.get_by_role("button", name="下一页").click()
    expect(rows).to_have_count(3)
    second = client.get(f"{API}/{THIS_WEEK}", headers=accounts["township_1"], params={"page": 2}).json()
    assert [rows.nth(i).get_attribute("data-household") for i in range(3)] == [
        i["household_no"] for i in second["items"]
    ]
    expect(phone.get_by_role("button", name="下一页")).to_be_disabled()
    # the reviewer's dashboard: their township's figures, as the API gives them to the reviewer
    phone.get_by_role("link", name="本周概况", exact=True).click()
    summary = client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["township_1"]).json()
    assert [t["township_code"] for t in summary["by_township"]] == [TOWNSHIP_1]
    _check_dashboard(phone, summary)
    expect(phone.get_by_role("link", name="预警模型")).to_have_count(0)  # the model is the district's
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def _models(settings: Settings) -> None:
    """An active model (a signed artifact of this service) and a rejected one, with their figures."""

    def metric(value: float | None) -> dict[str, float] | None:
        return (
            None
            if value is None
            else {"value": value, "low": round(value - 0.05, 4), "high": round(value + 0.04, 4)}
        )

    def evaluation(base: float) -> dict[str, Any]:
        names = (
            "roc_auc",
            "pr_auc",
            "brier",
            "recall_at_5",
            "precision_at_5",
            "recall_at_10",
            "precision_at_10",
        )
        scorer = {n: metric(round(base - 0.01 * i, 4)) for i, n in enumerate(names)}
        return {
            "model": {
                "metrics": scorer,
                "recall_at_10_by_township": [
                    {"township": TOWNSHIP_2, "households": 420, "positives": 11, "recall_at_10": 0.5455},
                    {"township": TOWNSHIP_1, "households": 380, "positives": 9, "recall_at_10": None},
                ],
            },
            "baselines": {
                "rules": {
                    "metrics": {n: metric(round(base - 0.2 - 0.01 * i, 4)) for i, n in enumerate(names)}
                    | {"brier": None}
                },
                "distance_to_line": {
                    "metrics": {n: metric(round(base - 0.15 - 0.01 * i, 4)) for i, n in enumerate(names)}
                    | {"brier": None}
                },
                "logistic_regression": {
                    "metrics": {n: metric(round(base - 0.05 - 0.01 * i, 4)) for i, n in enumerate(names)}
                },
            },
        }

    estimator = DummyClassifier(strategy="prior").fit(
        np.zeros((4, len(ft.MODEL_FEATURE_NAMES))), [0, 1, 0, 0]
    )
    blob = ml.dump(
        ml.Artifact(
            scorer=ml.Scorer("model", estimator=estimator),
            features=ft.MODEL_FEATURE_NAMES,
            reference=np.zeros(len(ft.MODEL_FEATURE_NAMES)),
            explained=(),
            horizon_months=12,
            sklearn_version=sklearn.__version__,
        )
    )
    with db.session_scope() as session:
        for status, base in (("active", 0.81), ("rejected", 0.74)):
            session.add(
                RiskModel(
                    status=status,
                    created_by="test",
                    policy_version=1,
                    estimator="HistGradientBoostingClassifier + sigmoid calibration",
                    sklearn_version=sklearn.__version__,
                    features=list(ft.MODEL_FEATURE_NAMES),
                    train_from=date(2023, 12, 1),
                    train_to=date(2025, 9, 30),
                    test_period=date(2025, 12, 31),
                    examples_train=2400,
                    examples_test=800,
                    positives_test=20,
                    evaluation=evaluation(base),
                    decision="first model",
                    artifact=blob,
                    sha256=ml.digest(blob),
                    signature=ml.sign(blob, training.signing_key(settings)),
                )
            )


def test_the_model_card_shows_the_apis_figures(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    accounts.create("district")
    phone.set_viewport_size({"width": 1280, "height": 900})
    _log_in(phone, live_server, "district")
    phone.get_by_role("link", name="预警模型").click()
    expect(phone.get_by_role("heading", name="预警模型")).to_be_visible()
    expect(phone.locator("#model-mode")).to_contain_text("冷启动")  # no model yet: the rules alone
    expect(phone.locator("#model-mode")).to_contain_text("仅政策规则")

    _models(settings)
    status = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert (status["mode"], status["reason_code"]) == ("model", "model")
    current = status["current"]
    phone.reload()
    expect(phone.locator("#model-mode")).to_contain_text(f"第 {current['id']} 版")
    for code, metric in current["metrics"].items():
        cell = phone.locator(f'#metrics tr[data-metric="{code}"] td[data-scorer="model"]')
        expect(cell.locator("[data-value]")).to_have_text(str(metric["value"]))
        expect(cell.locator("[data-range]")).to_contain_text(f"{metric['low']} – {metric['high']}")
    for scorer, metrics in current["baselines"].items():
        for code, metric in metrics.items():
            cell = phone.locator(f'#metrics tr[data-metric="{code}"] td[data-scorer="{scorer}"]')
            if metric is None:
                expect(cell).to_have_text("不适用")
            else:
                expect(cell.locator("[data-value]")).to_have_text(str(metric["value"]))
    expect(phone.locator('#by-township tr[data-township="530402201000"] th')).to_have_text("小石桥彝族乡")
    expect(
        phone.locator('#by-township tr[data-township="530402201000"] [data-figure="recall"]')
    ).to_have_text("0.5455")
    versions = phone.locator("#versions tbody tr")
    expect(versions).to_have_count(len(status["recent"]))
    for m in status["recent"]:
        expect(phone.locator(f'#versions tr[data-model="{m["id"]}"] [data-value]')).to_have_text(
            str(m["metrics"]["recall_at_10"]["value"])
        )
    expect(phone.locator(f'#versions tr[data-model="{status["recent"][0]["id"]}"]')).to_contain_text("未采用")
    shot(phone, "model-1280")
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.reload()
    expect(phone.locator("#metrics")).to_be_visible()
    shot(phone, "model-390")
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()
    expect(phone.locator("#metrics")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_a_village_cadre_gets_no_dashboard_and_an_empty_district_is_said_plainly(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    accounts.create("district")
    _log_in(phone, live_server, "district")
    phone.get_by_role("link", name="本周概况", exact=True).click()
    expect(phone.get_by_text("还没有任何一周的风险名单")).to_be_visible()  # before the first Monday
    phone.get_by_role("link", name="风险名单", exact=True).click()
    expect(phone.get_by_text("还没有任何一周的风险名单")).to_be_visible()
    phone.get_by_role("button", name="退出").click()
    expect(phone.get_by_role("heading", name="登录守望")).to_be_visible()
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    _district(client, accounts, settings)
    assert client.get(f"{API}/{THIS_WEEK}/summary", headers=accounts["cadre_a"]).status_code == 403
    _log_in(phone, live_server, "cadre_a")
    expect(phone.get_by_role("heading", name="农户")).to_be_visible()
    expect(phone.get_by_role("link", name="本周概况", exact=True)).to_have_count(0)  # not in the cadre's menu
    expect(phone.get_by_role("link", name="预警模型")).to_have_count(0)
    phone.goto(f"{live_server}/#/dashboard")
    expect(phone.get_by_role("heading", name="本周概况")).to_be_visible()
    expect(phone.get_by_role("alert")).to_contain_text("您没有这项权限")  # the API's 403, said as such
    expect(phone.locator(".dash-figures")).to_have_count(0)  # and no figure of it
    phone.goto(f"{live_server}/#/model")
    expect(phone.get_by_role("alert")).to_contain_text("您没有这项权限")
    phone.wait_for_load_state("networkidle")
    shot(phone, "dashboard-refused-390")


def test_the_model_card_says_which_scorer_won_and_why(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    from app.risk import training
    from tests.risk.test_champion import annual_district

    annual_district(settings)  # the distance to the line is the best any scorer can do here
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="cli").model
    status = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert status["champion"] == "distance_to_line"
    accounts.create("district")
    phone.set_viewport_size({"width": 1280, "height": 900})
    _log_in(phone, live_server, "district")
    phone.get_by_role("link", name="预警模型").click()
    expect(phone.locator("#model-mode")).to_contain_text("评分方式：离监测线距离 + 政策规则")
    expect(phone.locator("#model-mode")).to_contain_text("没有把握胜过")
    folds = status["current"]["folds"]
    for scorer, figures in folds["scorers"].items():
        row = phone.locator(f'#folds tr[data-fold-scorer="{scorer}"]')
        expect(row.locator("[data-value]")).to_have_text(str(figures["recall"]["value"]))
        if scorer == "distance_to_line":
            expect(row).to_contain_text("选用")
        else:
            expect(row).not_to_contain_text("选用")
            difference = folds["differences"][f"{scorer}-distance_to_line"]
            verdict = "更差，有把握" if difference["high"] < 0 else "差别在误差范围内"  # never better: it won
            expect(row.locator("[data-verdict]")).to_have_text(verdict)
    townships = folds["scorers"]["distance_to_line"]["by_township"]
    expect(phone.locator("#folds-by-township tbody tr")).to_have_count(len(townships))
    expect(phone.locator(f'#versions tr[data-model="{stored.id}"] [data-champion]')).to_have_text(
        "离监测线距离"
    )
    shot(phone, "model-champion-1280")
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()
    expect(phone.locator("#folds")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    shot(phone, "model-champion-360")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]
