"""A village cadre on a phone: logs in, sees the village's households with their risk and the ones
nobody has reported on, opens one, cannot open another village's, and logs out; the page is served
with a strict CSP and refuses a cookie-authenticated write without the CSRF token."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from app import db
from app.clock import local_today
from app.config import get_settings
from app.risk import scorer
from tests.fixtures import PASSWORD, VILLAGE_B, Accounts, member_body, new_household, report_body
from tests.web.conftest import shot


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#who")).to_contain_text(username)


def no_sideways_scroll(page: Page) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{width} px wide at a {viewport['width']} px screen"


def _district(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    cadre = accounts["cadre_a"]
    reported = new_household(client, cadre)
    silent = new_household(client, cadre)
    elsewhere = new_household(client, accounts["cadre_b"], village=VILLAGE_B)
    body = report_body("y", "2025-12-01", "2026-11-30", wages="12000", business="0", prop="0", transfer="0")
    stored = client.post(f"/api/v1/households/{reported['id']}/reports", json=body, headers=cadre)
    assert stored.status_code == 201, stored.text
    scorer.score_all(
        db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test"
    )  # last night's run
    return {"reported": reported, "silent": silent, "elsewhere": elsewhere}


def test_a_cadre_reads_the_village_on_a_phone(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    made = _district(client, accounts)
    log_in(phone, live_server, "cadre_a")
    expect(phone.get_by_role("heading", name="农户")).to_be_visible()
    items = phone.locator("#households li")
    expect(items).to_have_count(2)
    silent = items.filter(has_text=made["silent"]["household_no"])
    expect(silent.locator(".badge.stale")).to_have_text("尚无报告")  # never reported (not 久未报告): to visit
    expect(items.filter(has_text=made["reported"]["household_no"]).locator(".badge.stale")).to_have_count(0)
    shot(phone, "cadre-households-390")

    phone.get_by_label("按户编号或户主姓名查找").fill(made["reported"]["household_no"][-5:])
    expect(items).to_have_count(1)  # the server's search (q), asked once the typing pauses
    items.first.get_by_role("link").click()
    expect(phone.get_by_role("heading", name=f"农户 {made['reported']['household_no']}")).to_be_visible()
    expect(phone.get_by_role("cell", name="测试户主")).to_be_visible()  # names: the cadre's own village
    row = phone.locator("#reports tbody tr")
    expect(row).to_contain_text("3,833.33 元")  # (12,000 − 500) / 3, the server's figure
    expect(row).to_contain_text("8,700.00 元")  # this year's line, from the API
    expect(row.locator("td.below")).to_have_text("低于监测线")  # the API's below_line, in words
    expect(phone.locator(".badge.high")).to_have_text("高风险")
    expect(phone.get_by_text("人均纯收入 3,833.33 元 < 监测线 8,700 元")).to_be_visible()  # the API's words
    shot(phone, "cadre-household-390")

    assert phone.console_errors == []  # type: ignore[attr-defined]
    phone.goto(f"{live_server}/#/households/{made['elsewhere']['id']}")
    expect(phone.get_by_role("heading", name="找不到")).to_be_visible()  # the API's 404, as the page says it
    # the browser logs that 404 itself (once the request has settled): what follows must add no error
    for _ in range(250):  # polled: the page's heading can come before the browser's log line
        if any("404" in e for e in phone.console_errors):  # type: ignore[attr-defined]
            break
        phone.wait_for_timeout(20)
    else:
        pytest.fail(f"the browser never logged the 404: {phone.console_errors}")  # type: ignore[attr-defined]
    phone.console_errors.clear()  # type: ignore[attr-defined]

    phone.set_viewport_size({"width": 360, "height": 740})
    phone.goto(f"{live_server}/#/households/{made['reported']['id']}")
    expect(phone.locator("h1")).to_contain_text("农户")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    shot(phone, "cadre-household-360")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    phone.context.clear_cookies(name="sw_access")  # the access cookie expired meanwhile
    phone.get_by_role("button", name="退出").click()
    expect(phone.get_by_role("heading", name="登录守望")).to_be_visible()
    assert phone.request.get(f"{live_server}/api/v1/auth/me").status == 401  # the session is gone
    phone.goto(f"{live_server}/#/")
    expect(phone.get_by_role("heading", name="登录守望")).to_be_visible()  # and does not come back


def test_a_department_sees_its_households_without_the_villages_findings(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    _district(client, accounts)
    accounts.create("department")
    log_in(phone, live_server, "department")
    expect(phone.get_by_role("heading", name="农户")).to_be_visible()
    expect(phone.locator("#households li")).to_have_count(3)  # the county's, masked
    expect(phone.locator(".badge")).to_have_count(0)  # no risk levels, no visit list
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_the_page_has_a_strict_csp_and_writes_need_the_csrf_token(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    made = _district(client, accounts)
    response = phone.goto(live_server + "/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    log_in(phone, live_server, "cadre_a")
    expect(phone.get_by_role("heading", name="农户")).to_be_visible()
    report = {"household_id": made["silent"]["id"], "level": "high", "description": "户主住院"}
    forged = phone.request.post(f"{live_server}/api/v1/cases", data=report)  # the cookies, not the token
    assert forged.status == 403
    assert forged.json()["field"] == "x-csrf-token"
    cookies = {c["name"]: c["value"] for c in phone.context.cookies()}
    assert "sw_access" in cookies
    assert next(c for c in phone.context.cookies() if c["name"] == "sw_access")["httpOnly"] is True
    genuine = phone.request.post(
        f"{live_server}/api/v1/cases", data=report, headers={"X-CSRF-Token": cookies["sw_csrf"]}
    )
    assert genuine.status == 201, genuine.text()


def test_a_cadre_finds_a_household_by_the_heads_name_and_pages_through_the_village(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    wang = new_household(client, cadre, members=[member_body("户主", name="王桂兰", male=False)])
    for _ in range(50):  # 51 households: two pages of 50
        new_household(client, cadre, members=[member_body("户主")])
    log_in(phone, live_server, "cadre_a")
    items = phone.locator("#households li")
    expect(items).to_have_count(50)
    expect(phone.locator(".pager")).to_contain_text("第 1 / 2 页")
    phone.get_by_role("button", name="下一页").click()
    expect(items).to_have_count(1)
    expect(phone.locator(".pager")).to_contain_text("第 2 / 2 页")
    phone.get_by_label("按户编号或户主姓名查找").fill("桂兰")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text(wang["household_no"])
    expect(items.first).to_contain_text("王桂兰")  # the head's name, in the village's own list
    expect(phone.locator(".pager button")).to_have_count(0)
    no_sideways_scroll(phone)
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_the_next_user_of_the_tab_sees_nothing_of_the_last(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    made = _district(client, accounts)
    accounts.create("cadre_b")
    log_in(phone, live_server, "cadre_a")
    number = made["reported"]["household_no"]
    phone.get_by_label("按户编号或户主姓名查找").fill(number[-5:])
    expect(phone.locator("#households li")).to_have_count(1)
    phone.locator("#households li").first.get_by_role("link").click()
    expect(phone.get_by_role("heading", name=f"农户 {number}")).to_be_visible()  # read, kept in memory
    phone.get_by_role("link", name="← 农户列表").click()
    expect(phone.get_by_label("按户编号或户主姓名查找")).to_have_value(number[-5:])  # kept while logged in
    phone.get_by_role("button", name="退出").click()
    expect(phone.get_by_role("heading", name="登录守望")).to_be_visible()
    assert phone.evaluate("localStorage.getItem('shouwang-choices')") is None

    phone.get_by_label("用户名").fill("cadre_b")
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录").click()
    expect(phone.locator("#who")).to_contain_text("cadre_b")
    expect(phone.get_by_label("按户编号或户主姓名查找")).to_have_value("")  # not the last user's search
    expect(phone.locator("#households li")).to_have_count(1)  # cadre_b's own village
    phone.context.set_offline(True)
    phone.goto(f"{live_server}/#/households/{made['reported']['id']}")
    expect(phone.get_by_role("heading", name="无网络连接")).to_be_visible()  # not cadre_a's page from memory
    expect(phone.get_by_text(number)).to_have_count(0)
    expect(phone.get_by_text("这一户的信息要连上网络才能查看", exact=False)).to_be_visible()
    errors = [e for e in phone.console_errors if "ERR_INTERNET_DISCONNECTED" not in e]  # type: ignore[attr-defined]
    assert errors == [], errors


def test_the_full_id_numbers_and_phone_are_shown_only_on_request(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    full = client.get(f"/api/v1/households/{household['id']}?reveal=true", headers=cadre).json()
    full_id = full["members"][0]["id_number"]
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}")
    ids = phone.locator("#members td.id-number")
    expect(ids.first).to_have_text(household["members"][0]["id_number"])  # masked by default
    expect(ids.first).not_to_have_text(full_id)
    expect(phone.locator("#phone")).not_to_have_text(full["phone"])
    phone.get_by_role("button", name="显示完整证件号和电话（将留痕）").click()
    expect(ids.first).to_have_text(full_id)
    expect(phone.locator("#phone")).to_have_text(full["phone"])
    expect(phone.locator("#reveal-result")).to_contain_text("已记录")
    shot(phone, "cadre-household-revealed-390")
    assert "reveal" not in phone.url
    kept = phone.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert full_id not in kept
    assert full["phone"] not in kept
    phone.get_by_role("link", name="修改农户信息").click()
    phone.get_by_role("link", name="← 返回农户").click()
    expect(ids.first).not_to_have_text(full_id)  # masked again when the page is drawn anew
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    accounts.create("department")  # a role the API refuses to reveal to: no button
    phone.get_by_role("button", name="退出").click()
    expect(phone.get_by_role("heading", name="登录守望")).to_be_visible()  # the server ended the session
    log_in(phone, live_server, "department")
    phone.console_errors.clear()  # type: ignore[attr-defined]  # core's /auth/me probe after a logout
    phone.goto(f"{live_server}/#/households/{household['id']}")
    expect(phone.get_by_role("heading", name=f"农户 {household['household_no']}")).to_be_visible()
    expect(phone.get_by_role("button", name="显示完整证件号和电话（将留痕）")).to_have_count(0)
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]
