"""Offline drafts on the cadre's phone (390×844): reports entered with no connection are kept on the
phone as 待发送, survive closing the page, and are sent by themselves when the connection returns, each
exactly once; a draft the server refuses keeps the server's message until the cadre corrects it; logging
out forgets every draft.

While the context is offline the browser logs each request that could not leave the phone as a console
error (net::ERR_INTERNET_DISCONNECTED): those lines, and only those, are set aside by `offline_failure`."""

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures import Accounts, make_id, new_household
from tests.web.conftest import console_errors, shot
from tests.web.test_cadre_pages import log_in, no_sideways_scroll

COUNT_DRAFTS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("shouwang-drafts", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("drafts", { keyPath: "client_ref" });
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const count = db.transaction("drafts").objectStore("drafts").count();
    count.onsuccess = () => { db.close(); resolve(count.result); };
  };
})"""


def offline_failure(line: str) -> bool:
    """A request the offline phone could not send: the browser's own line, nothing the app logged."""
    return "net::ERR_INTERNET_DISCONNECTED" in line


def _errors(page: Page) -> list[str]:
    return [e for e in page.console_errors if not offline_failure(e)]  # type: ignore[attr-defined]


def _watch(page: Page) -> Page:
    page.console_errors = console_errors(page)  # type: ignore[attr-defined]
    return page


def _fill_report(page: Page, start: str, end: str, wages: str) -> None:
    page.get_by_label("开始日期").fill(start)
    page.get_by_label("结束日期").fill(end)
    page.get_by_label("工资性收入（元）").fill(wages)
    page.get_by_role("button", name="发送报告").click()
    expect(page.locator("#report-result")).to_contain_text("已保存为待发送")


def _reports(client: TestClient, headers: dict[str, str], household: dict[str, Any]) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/households/{household['id']}/reports", headers=headers)
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _offline_on_the_report_form(phone: Page, live_server: str, household: dict[str, Any]) -> None:
    log_in(phone, live_server, "cadre_a")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the shell is kept for offline
    phone.goto(f"{live_server}/#/households/{household['id']}")
    expect(phone.get_by_role("heading", name=f"农户 {household['household_no']}")).to_be_visible()
    phone.context.set_offline(True)
    phone.get_by_role("link", name="提交季度报告").click()
    expect(phone.locator("#preview")).to_have_text("无网络连接：人均纯收入将在发送后由系统计算。")


def test_reports_entered_offline_are_sent_once_when_the_connection_returns(
    phone: Page, browser: Browser, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    _offline_on_the_report_form(phone, live_server, household)
    _fill_report(phone, "2026-01-01", "2026-03-31", "4000")
    _fill_report(phone, "2026-04-01", "2026-06-30", "5000")
    expect(phone.locator("#drafts-bar")).to_contain_text("2 份待发送")
    phone.get_by_role("link", name="返回农户", exact=True).click()  # the page read a moment ago, from memory
    expect(phone.locator("#household-drafts .draft")).to_have_count(2)
    expect(phone.locator("#household-drafts .badge.pending").first).to_have_text("待发送")
    shot(phone, "cadre-drafts-offline-390")
    phone.set_viewport_size({"width": 360, "height": 740})
    no_sideways_scroll(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    assert _reports(client, cadre, household) == []  # nothing left the phone

    context: BrowserContext = phone.context
    phone.close()  # the cadre closes the browser tab…
    again = _watch(context.new_page())  # …and opens the app again, still without a connection
    again.goto(f"{live_server}/#/")
    expect(again.locator("#drafts-bar")).to_contain_text("2 份待发送")  # the drafts survived
    assert again.evaluate(COUNT_DRAFTS) == 2
    expect(again.get_by_role("heading", name="无网络连接")).to_be_visible()  # the list needs the network…
    # …a household's page says so plainly (nothing of it is kept on the phone)…
    again.goto(f"{live_server}/#/households/{household['id']}")
    expect(again.get_by_text("这一户的信息要连上网络才能查看", exact=False)).to_be_visible()
    # …but 待发送 and 新增农户 work offline
    again.get_by_role("navigation", name="主菜单").get_by_role("link", name="待发送").click()
    expect(again.get_by_role("heading", name="待发送", exact=True)).to_be_visible()
    expect(again.locator("#drafts .draft")).to_have_count(2)
    shot(again, "cadre-drafts-reopened-offline-390")
    again.get_by_role("navigation", name="主菜单").get_by_role("link", name="新增农户").click()
    expect(again.get_by_role("heading", name="新增农户")).to_be_visible()
    again.get_by_label("户编号", exact=True).fill("W202201-00901")
    again.get_by_label("户类型").select_option("一般农户")
    member = again.locator("fieldset.member").first
    member.get_by_label("姓名").fill("钱小河")
    member.get_by_label("身份证号").fill(make_id(date(1982, 2, 2)))
    member.get_by_label("性别").select_option("男")
    again.get_by_role("button", name="登记").click()
    expect(again.locator("#register-result")).to_contain_text("已保存为待发送")
    expect(again.locator("#drafts-bar")).to_contain_text("3 份待发送")
    # no personal data in the browser's storage beyond the drafts
    kept = again.evaluate("Object.keys(localStorage).sort().join(',') + '|' + sessionStorage.length")
    # (the choices of the forms, who is logged in, the procedure's step names: none of it personal)
    assert kept == "shouwang-choices,shouwang-me,shouwang-procedure|0", kept
    context.set_offline(False)  # the connection returns: the drafts go by themselves
    expect(again.locator("#drafts-bar")).to_have_count(0, timeout=10_000)
    stored = _reports(client, cadre, household)
    assert sorted(r["period_end"] for r in stored) == ["2026-03-31", "2026-06-30"]  # exactly two
    assert client.get("/api/v1/households?q=W202201-00901", headers=cadre).json()["total"] == 1
    assert again.evaluate(COUNT_DRAFTS) == 0  # sent: no personal data kept longer than needed
    again.reload()  # another load sends nothing twice
    expect(again.get_by_role("heading", name="农户")).to_be_visible()
    again.wait_for_load_state("networkidle")
    assert len(_reports(client, cadre, household)) == 2
    assert _errors(again) == [], _errors(again)


def test_a_refused_draft_keeps_the_servers_message_until_corrected(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    _offline_on_the_report_form(phone, live_server, household)
    _fill_report(phone, "2025-01-01", "2026-06-30", "4000")  # 18 months: the server refuses it
    phone.context.set_offline(False)
    expect(phone.locator("#drafts-bar")).to_contain_text("1 份被退回", timeout=10_000)
    phone.locator("#drafts-bar").get_by_role("link").click()
    draft = phone.locator("#drafts .draft")
    expect(draft.locator(".badge")).to_have_text("被退回")
    expect(draft.locator(".form-error")).to_contain_text("一份报告最多覆盖 12 个月")  # the server's words
    shot(phone, "cadre-drafts-refused-390")
    phone.set_viewport_size({"width": 1280, "height": 900})
    shot(phone, "cadre-drafts-refused-1280")
    phone.set_viewport_size({"width": 360, "height": 740})
    no_sideways_scroll(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    assert _reports(client, cadre, household) == []
    # the browser logged the refusal's 422 itself
    assert [e for e in _errors(phone) if "422" not in e] == []
    phone.console_errors.clear()  # type: ignore[attr-defined]

    draft.get_by_role("link", name="修改").click()
    expect(phone.get_by_role("heading", name="修改待发送的季度报告")).to_be_visible()
    expect(phone.get_by_label("结束日期")).to_have_attribute("aria-invalid", "true")
    phone.get_by_label("开始日期").fill("2026-04-01")
    expect(phone.locator("#preview-verdict")).to_have_text("低于监测线")  # online again: the preview
    phone.get_by_role("button", name="保存并发送").click()
    expect(phone.get_by_role("heading", name=f"农户 {household['household_no']}")).to_be_visible()
    expect(phone.locator("#reports tbody tr")).to_have_count(1)
    assert phone.evaluate(COUNT_DRAFTS) == 0
    assert len(_reports(client, cadre, household)) == 1
    assert _errors(phone) == [], _errors(phone)


def test_logging_out_warns_of_the_drafts_and_forgets_them(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    household = new_household(client, accounts["cadre_a"])
    _offline_on_the_report_form(phone, live_server, household)
    _fill_report(phone, "2025-01-01", "2026-06-30", "4000")  # 18 months: refused once sent
    assert phone.evaluate(COUNT_DRAFTS) == 1
    phone.get_by_role("button", name="退出").click()  # offline: only the server can end the session
    expect(phone.locator("#status")).to_contain_text("没有网络，无法退出登录")
    expect(phone.locator("#who")).to_contain_text("cadre_a")
    assert phone.evaluate(COUNT_DRAFTS) == 1
    phone.context.set_offline(False)
    expect(phone.locator("#drafts-bar")).to_contain_text("1 份被退回", timeout=10_000)
    asked: list[str] = []
    answers = iter([False, True])

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        if next(answers):
            dialog.accept()
        else:
            dialog.dismiss()

    phone.on("dialog", answer)
    phone.get_by_role("button", name="退出").click()  # the cadre thinks again: still logged in
    expect(phone.locator("#who")).to_contain_text("cadre_a")
    assert phone.evaluate(COUNT_DRAFTS) == 1
    phone.get_by_role("button", name="退出").click()
    expect(phone.get_by_role("heading", name="登录守望")).to_be_visible()
    assert asked == ["还有 1 份草稿未发送，退出后将被删除。确定退出吗？"] * 2
    assert phone.evaluate(COUNT_DRAFTS) == 0
    expect(phone.locator("#drafts-bar")).to_have_count(0)
    assert _reports(client, accounts["cadre_a"], household) == []
    assert [e for e in _errors(phone) if "422" not in e] == [], _errors(phone)


def test_a_household_registered_offline_is_sent_once(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    accounts.create("cadre_a")
    log_in(phone, live_server, "cadre_a")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_server}/#/households/new")
    expect(phone.get_by_role("heading", name="新增农户")).to_be_visible()
    phone.context.set_offline(True)
    phone.get_by_label("户编号", exact=True).fill("W202201-00900")
    phone.get_by_label("户类型").select_option("一般农户")
    member = phone.locator("fieldset.member").first
    member.get_by_label("姓名").fill("赵大山")
    member.get_by_label("身份证号").fill(make_id(date(1975, 6, 6)))
    member.get_by_label("性别").select_option("男")
    phone.get_by_role("button", name="登记").click()
    expect(phone.locator("#register-result")).to_contain_text("已保存为待发送")
    expect(phone.locator("#drafts-bar")).to_contain_text("1 份待发送")
    phone.context.set_offline(False)
    expect(phone.locator("#drafts-bar")).to_have_count(0, timeout=10_000)
    found = client.get("/api/v1/households?q=W202201-00900", headers=accounts["cadre_a"]).json()
    assert found["total"] == 1
    assert found["items"][0]["head_name"] == "赵大山"
    assert _errors(phone) == [], _errors(phone)
