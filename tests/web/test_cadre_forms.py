"""A village cadre at 390×844 registers a household with three members (the ID number's check digit hinted
as typed, the server's refusal shown on the member's field), submits a quarterly report after the
server's preview of its per-capita income, edits the household through a conflict, and reports a household
in difficulty; the household page shows risk, case timeline, reports against the line and measures."""

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import Page, Route, expect

from app import db
from app.clock import local_today
from app.config import get_settings
from app.risk import scorer
from tests.fixtures import Accounts, make_id, new_household, report_body
from tests.web.conftest import shot
from tests.web.test_cadre_pages import log_in, no_sideways_scroll


def _member(page: Page, index: int, name: str, id_number: str, relation: str, sex: str) -> None:
    member = page.locator("fieldset.member").nth(index)
    member.get_by_label("姓名").fill(name)
    member.get_by_label("身份证号").fill(id_number)
    member.get_by_label("与户主关系").select_option(relation)
    member.get_by_label("性别").select_option(sex)


def test_a_cadre_registers_a_household_and_reports_on_it(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    log_in(phone, live_server, "cadre_a")
    phone.get_by_role("navigation", name="主菜单").get_by_role("link", name="新增农户").click()
    expect(phone.get_by_role("heading", name="新增农户")).to_be_visible()
    phone.get_by_label("户编号", exact=True).fill("W202201-00077")
    phone.get_by_label("户类型").select_option("脱贫户")
    phone.get_by_label("地址").fill("三组 8 号")
    head_id = make_id(date(1968, 4, 2))
    wrong_digit = head_id[:17] + ("0" if head_id[17] != "0" else "1")
    phone.locator("fieldset.member").first.get_by_label("身份证号").fill(wrong_digit)
    expect(phone.locator(".id-hint").first).to_contain_text("校验位不对")  # as typed, a hint only
    _member(phone, 0, "李国华", head_id, "户主", "男")
    expect(phone.locator(".id-hint").first).to_have_text("校验位正确")
    phone.get_by_role("button", name="添加成员").click()
    _member(phone, 1, "张秀英", make_id(date(1970, 9, 9), male=False), "配偶", "女")
    phone.get_by_role("button", name="添加成员").click()
    # the third member's number has a wrong check digit: the server refuses it, on that member's field
    third = make_id(date(1995, 1, 20))
    _member(phone, 2, "李明", third[:17] + ("0" if third[17] != "0" else "1"), "之子", "男")
    shot(phone, "cadre-register-390")
    phone.get_by_role("button", name="登记").click()
    bad = phone.locator("fieldset.member").nth(2).locator(".field-error")
    expect(bad).to_be_visible()
    expect(phone.locator("fieldset.member").nth(2).get_by_label("身份证号")).to_have_attribute(
        "aria-invalid", "true"
    )
    # the browser logs the deliberate 422 itself (once the request has settled): nothing else may add one
    phone.wait_for_load_state("networkidle")
    phone.console_errors.clear()  # type: ignore[attr-defined]
    _member(phone, 2, "李明", third, "之子", "男")
    phone.get_by_role("button", name="登记").click()
    expect(phone.get_by_role("heading", name="农户 W202201-00077")).to_be_visible()
    expect(phone.locator("#status")).to_have_text("已登记农户 W202201-00077")  # survives the page change
    expect(phone.locator("#members tbody tr")).to_have_count(3)
    expect(phone.get_by_role("cell", name="张秀英")).to_be_visible()

    phone.get_by_role("link", name="提交季度报告").click()
    expect(phone.get_by_role("heading", name="提交季度报告")).to_be_visible()
    phone.get_by_label("开始日期").fill("2026-07-01")
    phone.get_by_label("结束日期").fill("2026-09-30")
    phone.get_by_label("工资性收入（元）").fill("6000")
    phone.get_by_label("生产经营性支出（元）").fill("0")
    # the server's figure before sending: 6,000 over 92 days, scaled to 365, over 3 people
    expect(phone.locator("#preview")).to_contain_text("7,934.78 元")
    expect(phone.locator("#preview-verdict")).to_have_text("低于监测线")
    expect(phone.locator("#preview")).to_contain_text("估算")
    shot(phone, "cadre-report-390")
    phone.get_by_role("button", name="发送报告").click()
    expect(phone.locator("#reports tbody tr")).to_have_count(1)
    expect(phone.locator("#status")).to_have_text("报告已发送")  # on the household page it went back to
    expect(phone.locator("#reports td.below")).to_have_text("低于监测线")
    verdict = phone.locator("#reports td.below").bounding_box()
    assert verdict is not None
    assert verdict["height"] < 32, verdict  # one line at 390 px, not three
    shot(phone, "cadre-household-reports-390")
    households = client.get("/api/v1/households?q=W202201-00077", headers=cadre).json()["items"]
    assert len(households) == 1
    reports = client.get(f"/api/v1/households/{households[0]['id']}/reports", headers=cadre).json()
    assert reports["total"] == 1
    assert reports["items"][0]["per_capita_net_income"] == "7934.78"
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_a_stale_edit_is_shown_as_a_conflict_and_can_be_reapplied(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}")
    phone.get_by_role("link", name="修改农户信息").click()
    expect(phone.get_by_role("heading", name=f"修改农户 {household['household_no']}")).to_be_visible()
    # meanwhile someone else changes the address
    other = client.patch(
        f"/api/v1/households/{household['id']}",
        json={"address": "五组 1 号", "version": household["version"]},
        headers=cadre,
    )
    assert other.status_code == 200, other.text
    phone.get_by_label("地址").fill("二组 6 号")
    phone.get_by_role("button", name="保存").click()
    conflict = phone.locator(".conflict")
    expect(conflict).to_contain_text("保存冲突")
    row = conflict.locator("tbody tr").first
    expect(row).to_contain_text("地址")
    expect(row).to_contain_text("二组 6 号")  # yours
    expect(row).to_contain_text("五组 1 号")  # the current one
    shot(phone, "cadre-edit-conflict-390")
    phone.get_by_role("button", name="用我填的值再次保存").click()
    expect(phone.get_by_role("heading", name=f"农户 {household['household_no']}")).to_be_visible()
    expect(phone.get_by_text("地址 二组 6 号")).to_be_visible()
    stored = client.get(f"/api/v1/households/{household['id']}", headers=cadre).json()
    assert stored["address"] == "二组 6 号"
    # the browser logs the stale edit's 409 itself: that one line, and nothing else
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert len(errors) == 1, errors
    assert "409" in errors[0]
    assert errors[0].endswith(f"/api/v1/households/{household['id']}")


def _scored(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    body = report_body("y", "2025-12-01", "2026-11-30", wages="12000", business="0", prop="0", transfer="0")
    client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre)
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    return household


def test_a_cadre_reports_a_household_in_difficulty_and_sees_the_case_on_its_page(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    household = _scored(client, accounts)
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}")
    expect(phone.locator("#risk .badge.high")).to_have_text("高风险")
    expect(phone.get_by_text("没有正在办理的案件。")).to_be_visible()
    phone.get_by_role("link", name="报告困难户").click()
    expect(phone.get_by_role("heading", name="报告困难户")).to_be_visible()
    options = phone.get_by_label("风险类型").locator("option").all_text_contents()
    assert "因病" in options  # the API's list
    assert "因自然灾害" in options
    phone.get_by_label("风险类型").select_option("因病")
    phone.get_by_label("情况说明").fill("户主住院，花费约 3 万元")
    shot(phone, "cadre-signal-390")
    phone.get_by_role("button", name="报告").click()
    expect(phone.locator("#signal-result")).to_contain_text("已立案")
    case_link = phone.locator("#signal-result").get_by_role("link", name="查看案件")
    case_id = case_link.get_attribute("href")
    assert case_id is not None
    assert case_id.startswith("#/cases/")
    phone.locator("#signal-result").get_by_role("link", name="返回农户").click()
    case = phone.locator("#case")
    expect(case).to_contain_text("入户核实")
    expect(case.locator(".timeline li")).not_to_have_count(0)
    expect(case.get_by_role("link")).to_have_attribute("href", case_id)
    items = client.get("/api/v1/households", headers=accounts["cadre_a"]).json()["items"]
    assert items[0]["open_case_id"] == int(case_id.rsplit("/", 1)[1])
    phone.goto(f"{live_server}/#/")
    listed = phone.locator("#households li").filter(has_text=household["household_no"])
    expect(listed.locator(".badge.case")).to_have_text("案件：入户核实")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_the_pages_at_phone_and_desktop_widths(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    household = _scored(client, accounts)
    unreported = new_household(client, accounts["cadre_a"])
    new_household(client, accounts["cadre_a"])
    log_in(phone, live_server, "cadre_a")
    expect(phone.get_by_role("heading", name="农户")).to_be_visible()
    number = household["household_no"]
    pages = {
        "households": ("#/", "农户"),
        "household": (f"#/households/{household['id']}", f"农户 {number}"),
        "register": ("#/households/new", "新增农户"),
        "report": (f"#/households/{unreported['id']}/report", "提交季度报告"),
        "edit": (f"#/households/{household['id']}/edit", f"修改农户 {number}"),
        "signal": (f"#/households/{household['id']}/signal", "报告困难户"),
        "drafts": ("#/drafts", "待发送"),
    }
    for width, height in ((390, 844), (1280, 900), (360, 740)):
        phone.set_viewport_size({"width": width, "height": height})
        for name, (hash_, heading) in pages.items():
            phone.goto(f"{live_server}/#/empty")  # a hash change, so each page is drawn afresh
            expect(phone.locator("main h1")).to_have_text("找不到")
            phone.goto(f"{live_server}/{hash_}")
            expect(phone.locator("main h1")).to_have_text(heading)
            phone.wait_for_load_state("networkidle")
            if width == 360:
                no_sideways_scroll(phone)
            else:
                shot(phone, f"cadre-{name}-{width}")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def _in_q3(client: TestClient, cadre: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    household = new_household(client, cadre)
    body = report_body("q3", "2026-07-01", "2026-09-30", wages="3000", business="0", prop="0", transfer="0")
    stored = client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre)
    assert stored.status_code == 201, stored.text
    return household, stored.json()


def test_the_report_form_starts_after_the_last_report_and_offers_to_correct_an_overlap(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household, q3 = _in_q3(client, cadre)  # last quarter is already reported
    phone.clock.set_system_time(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # the tests' day
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}/report")
    expect(phone.get_by_role("heading", name="提交季度报告")).to_be_visible()
    # the first period not reported, not last quarter: the preview answers with a figure, not a refusal
    expect(phone.get_by_label("开始日期")).to_have_value("2026-10-01")
    expect(phone.get_by_label("结束日期")).to_have_value("2026-12-01")
    expect(phone.locator("#preview-verdict")).to_be_visible()
    expect(phone.locator("#correction")).to_contain_text("该户已报告到 2026-09-30")

    phone.get_by_label("开始日期").fill("2026-07-01")
    phone.get_by_label("结束日期").fill("2026-09-30")
    expect(phone.locator("#correction")).to_contain_text("重叠")
    shot(phone, "cadre-report-overlap-390")
    phone.get_by_role("button", name="更正 2026-07-01 至 2026-09-30 的报告").click()
    expect(phone.get_by_role("heading", name="更正 2026-07-01 至 2026-09-30 的报告")).to_be_visible()
    expect(phone.get_by_label("工资性收入（元）")).to_have_value(q3["income"]["wages"])  # the stored values
    phone.get_by_label("工资性收入（元）").fill("4500")
    expect(phone.locator("#preview-verdict")).to_be_visible()
    phone.get_by_role("button", name="发送更正").click()
    expect(phone.get_by_role("heading", name=f"农户 {household['household_no']}")).to_be_visible()
    expect(phone.locator("#status")).to_have_text("更正已发送")
    reports = client.get(f"/api/v1/households/{household['id']}/reports", headers=cadre).json()["items"]
    correction = next(r for r in reports if r["supersedes"] == q3["id"])
    assert correction["income"]["wages"] == "4500.00"
    assert next(r for r in reports if r["id"] == q3["id"])["superseded_by"] == correction["id"]
    expect(phone.locator("#reports tbody tr")).to_have_count(1)  # the corrected one is no longer shown
    # the preview's deliberate 409 (the overlap) is the browser's own log line, nothing else
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert all("409" in e for e in errors), errors


def test_a_household_reported_up_to_today_is_offered_its_latest_report_to_correct(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household, _ = _in_q3(client, cadre)
    body = report_body("q4", "2026-10-01", "2026-12-01", wages="2000", business="0", prop="0", transfer="0")
    stored = client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre)
    assert stored.status_code == 201, stored.text
    phone.clock.set_system_time(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # the page's today: 12-01
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}/report")
    # no new period to report: said so, with the latest report to correct (not last quarter's clash)
    expect(phone.locator("#correction")).to_contain_text("没有新的报告期")
    expect(phone.locator("#correction")).not_to_contain_text("2026-07-01")
    phone.get_by_role("button", name="更正 2026-10-01 至 2026-12-01 的报告").click()
    expect(phone.get_by_role("heading", name="更正 2026-10-01 至 2026-12-01 的报告")).to_be_visible()
    expect(phone.get_by_label("工资性收入（元）")).to_have_value("2000.00")


def test_a_report_is_corrected_from_the_household_page(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household, q3 = _in_q3(client, cadre)
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}")
    phone.locator("#reports").get_by_role("link", name="更正").click()
    expect(phone.get_by_role("heading", name="更正 2026-07-01 至 2026-09-30 的报告")).to_be_visible()
    expect(phone.get_by_label("开始日期")).to_have_value("2026-07-01")
    phone.get_by_role("button", name="取消更正").click()
    expect(phone.get_by_role("heading", name="提交季度报告")).to_be_visible()
    # the same period as a new report: the server refuses the overlap, the page offers the correction again
    expect(phone.get_by_role("button", name="更正 2026-07-01 至 2026-09-30 的报告")).to_be_visible()
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert all("409" in e for e in errors), errors


def test_a_form_asked_for_again_while_it_loads_is_drawn_once_and_keeps_what_was_typed(
    phone: Page, live_server: str, accounts: Accounts
) -> None:
    accounts["cadre_a"]
    held: list[Route] = []  # a poor connection: the forms' choices are on their way until released
    phone.route("**/api/v1/households/choices", lambda route: held.append(route))
    log_in(phone, live_server, "cadre_a")
    phone.evaluate(
        """() => {
          window.drawn = 0;
          const view = document.getElementById("view");
          const drawsForm = (record) => [...record.addedNodes].some((node) => node.id === "register");
          const count = (records) => (window.drawn += records.filter(drawsForm).length);
          new MutationObserver(count).observe(view, { childList: true });
          // the address asked for again while the page loads (a second tap, a second hashchange)
          location.hash = "#/households/new";
          setTimeout(() => {
            window.dispatchEvent(new HashChangeEvent("hashchange"));
            window.askedAgain = true;
          }, 50);
        }"""
    )
    # polled, not slept: the choices are held only once the page has asked and the route has run here
    # (from Python: the page's content security policy forbids the evaluated predicate of wait_for_function)
    for _ in range(500):
        if held and phone.evaluate("window.askedAgain === true"):
            break
        phone.wait_for_timeout(20)
    assert held, "the choices were not asked for"
    assert phone.evaluate("window.askedAgain === true"), "the address was not asked for again"
    for route in held:
        route.continue_()
    expect(phone.get_by_role("heading", name="新增农户")).to_be_visible()
    phone.get_by_label("户编号", exact=True).fill("W202201-00099")
    phone.wait_for_load_state("networkidle")
    expect(phone.get_by_label("户编号", exact=True)).to_have_value("W202201-00099")
    assert phone.evaluate("window.drawn") == 1


def test_a_disabled_member_needs_a_grade_and_a_refused_member_is_said_plainly(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/new")
    # the village's list may still be on screen, and its search box's label holds "户编号" too
    expect(phone.get_by_role("heading", name="新增农户")).to_be_visible()
    phone.get_by_label("户编号", exact=True).fill("W202201-00088")
    phone.get_by_label("户类型").select_option("一般农户")
    member = phone.locator("fieldset.member").first
    expect(member.get_by_label("残疾等级")).to_be_hidden()  # only for 残疾
    _member(phone, 0, "王残", make_id(date(1970, 3, 3)), "户主", "男")
    member.get_by_label("健康状况").select_option("残疾")
    expect(member.get_by_label("残疾等级")).to_be_visible()
    assert member.get_by_label("残疾等级").locator("option").all_text_contents()[1:] == [
        "1 级",
        "2 级",
        "3 级",
        "4 级",
    ]
    member.get_by_label("残疾等级").select_option("2")
    shot(phone, "cadre-register-disabled-390")
    phone.get_by_role("button", name="登记").click()
    expect(phone.get_by_role("heading", name="农户 W202201-00088")).to_be_visible()
    expect(phone.locator("#members")).to_contain_text("残疾（2 级）")
    found = client.get("/api/v1/households?q=W202201-00088", headers=cadre).json()["items"][0]
    stored = client.get(f"/api/v1/households/{found['id']}", headers=cadre).json()
    assert stored["members"][0]["disability_grade"] == 2

    # edit: the address is saved, then the member's change is refused (残疾 with no grade)
    phone.get_by_role("link", name="修改农户信息").click()
    phone.get_by_label("地址").fill("七组 2 号")
    fieldset = phone.locator("fieldset[data-member]").first
    fieldset.get_by_label("残疾等级").select_option("")
    phone.get_by_role("button", name="保存").click()
    told = phone.locator("#partly-saved")
    expect(told).to_contain_text("已保存：地址")
    expect(told).to_contain_text("未保存：王残的修改")
    expect(phone.locator(".conflict")).to_have_count(0)  # no conflict panel
    expect(fieldset.locator(".field-error")).to_be_visible()
    shot(phone, "cadre-edit-partly-saved-390")
    assert client.get(f"/api/v1/households/{found['id']}", headers=cadre).json()["address"] == "七组 2 号"
    fieldset.get_by_label("残疾等级").select_option("3")
    phone.get_by_role("button", name="保存").click()
    expect(phone.get_by_role("heading", name="农户 W202201-00088")).to_be_visible()
    expect(phone.locator("#status")).to_have_text("已保存")
    expect(phone.locator("#members")).to_contain_text("残疾（3 级）")
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert all("422" in e for e in errors), errors  # the browser's own line for the refusal


def test_a_double_tap_reports_a_household_in_difficulty_once(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    household = new_household(client, accounts["cadre_a"])
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}/signal")
    expect(phone.get_by_role("heading", name="报告困难户")).to_be_visible()
    phone.get_by_label("情况说明").fill("房屋倒塌")
    posts: list[str] = []
    phone.on(
        "request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/cases") else None
    )
    phone.get_by_role("button", name="报告").dblclick()
    expect(phone.locator("#signal-result")).to_contain_text("已立案")
    phone.wait_for_load_state("networkidle")
    assert len(posts) == 1, posts
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]
