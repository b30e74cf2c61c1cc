"""The model card's drift chart in a browser: before any run it says so; after a township's incomes halve,
it names the township and its income features, draws a bar per feature with the API's PSI (red past
the policy's threshold) for the district or the chosen township. Screenshots at desk and phone widths."""

from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from app import db
from app.config import Settings
from app.demo import district as demo
from tests.fixtures import TOWNSHIP_2, VILLAGE_A, VILLAGE_C, Accounts
from tests.risk.test_drift_runs import halve_incomes, score
from tests.web.conftest import shot
from tests.web.test_dashboard import _log_in


def test_the_model_card_draws_the_drift_report(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    accounts.create("district")
    phone.set_viewport_size({"width": 1280, "height": 900})
    _log_in(phone, live_server, "district")
    phone.get_by_role("link", name="预警模型").click()
    expect(phone.locator("#drift-none")).to_contain_text("还没有记录了数据分布的评分")

    with db.session_scope() as session:
        demo.generate(
            session, settings, households=500, seed=5, quarter_count=8, villages=[VILLAGE_A, VILLAGE_C]
        )
    score()
    halve_incomes(VILLAGE_C)
    score()
    report = client.get("/api/v1/risk/drift", headers=accounts["district"]).json()
    shifted = next(t for t in report["townships"] if t["township_code"] == TOWNSHIP_2)
    phone.reload()
    expect(phone.locator("#drift-reference")).to_contain_text("第一次完成的评分")
    flags = phone.locator(f'#drift-flags li[data-scope="{TOWNSHIP_2}"]')
    expect(flags).to_contain_text(shifted["township_name"])
    expect(flags).to_contain_text("人均纯收入")

    # the district first: one bar per feature and the score, each with the API's figure
    bars = phone.locator(".drift-chart svg g.drift-row")
    expect(bars).to_have_count(len(report["district"]["features"]) + 1)
    for variable in report["district"]["features"]:
        row = phone.locator(f'.drift-table tr[data-variable="{variable["name"]}"]')
        expect(row.locator('[data-figure="psi"]')).to_have_text(
            f"{variable['psi']:g}"
        )  # as JavaScript writes it
    # then the township whose incomes halved: its income bar is drawn as drifted
    phone.get_by_label("范围").select_option(label=f"{shifted['township_name']}（明显漂移）")
    income = phone.locator('.drift-chart svg g[data-variable="income_pc"]')
    expect(income).to_have_class("drift-row drift-drift")
    psi = next(v["psi"] for v in shifted["features"] if v["name"] == "income_pc")
    expect(income.locator("text.drift-value")).to_contain_text(f"{psi:g}")
    phone.locator("#drift").scroll_into_view_if_needed()
    shot(phone, "model-drift-1280")

    phone.set_viewport_size({"width": 390, "height": 844})
    phone.reload()
    expect(phone.locator(".drift-chart svg")).to_be_visible()
    shot(phone, "model-drift-390")
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.reload()
    expect(phone.locator(".drift-chart svg")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]
