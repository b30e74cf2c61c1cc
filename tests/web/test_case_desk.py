"""The case desk through the pages alone (issue 11, acceptance 2): a case a cadre reported goes from the
village's visit to the district's decision, each person sees the forms for exactly the actions the case
allows them now, and the household ends up monitored. Another township's reviewer gets the API's 404."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from app import db
from app.clock import local_today
from app.clock import now as clock_now
from app.config import Settings, get_settings
from app.models import Case
from app.risk import scorer
from app.services.cases import cases, escalation
from app.services.platform.access import Actor
from app.services.relief import relief_keys
from tests.cases.test_cases import AS_OF
from tests.fixtures import PASSWORD, Accounts, new_household, report_body
from tests.relief.test_relief import APPLICANT_ID, Platform, application
from tests.web.conftest import console_errors, shot


def _log_in(page: Page, base: str, username: str) -> None:
    """A fresh start of the app (the earlier session forgotten, as on another day), then the login."""
    page.goto("about:blank")
    page.context.clear_cookies()
    page.clock.set_system_time(clock_now())  # the browser's "today" (a date field's default) is the app's
    page.goto(base + "/#/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#who")).to_contain_text(username)


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    """A desk's screen, console errors collected like the phone's."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.console_errors = console_errors(page)  # type: ignore[attr-defined]
    yield page
    context.close()


def _reported_case(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    """A household below the line, scored last night, that its cadre reports in difficulty."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    body = report_body("y", "2025-12-01", "2026-11-30", wages="12000", business="0", prop="0", transfer="0")
    assert (
        client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre).status_code
        == 201
    )
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    reported = client.post(
        "/api/v1/cases",
        json={
            "household_id": household["id"],
            "description": "户主务工受伤，收入骤降",
            "risk_type": "因务工就业不稳",
        },
        headers=cadre,
    )
    assert reported.status_code == 201, reported.text
    for name in ("township_1", "township_2", "district"):
        accounts.create(name)
    return {"household": household, "case_id": reported.json()["case_id"]}


def _buttons(page: Page) -> list[str]:
    """The submit buttons of the case's action forms, as offered now (withdrawing and reassigning are
    folded away, but offered all the same)."""
    expect(page.locator("#actions")).to_be_attached()
    return page.locator("#actions button[type=submit]").all_text_contents()


def _open_case_from_inbox(page: Page, household_no: str) -> None:
    page.locator("#nav").get_by_role("link", name="待办").click()
    expect(page.get_by_role("heading", name="待办案件")).to_be_visible()
    page.locator("#inbox li", has_text=household_no).get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"户 {household_no}")).to_be_visible()


def _no_sideways_scroll(page: Page, base: str, hash_: str, heading: str) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{base}/{hash_}")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, hash_


def test_a_reported_case_goes_from_the_village_to_monitoring_through_the_pages(
    phone: Page,
    desk: Page,
    live_server: str,
    client: TestClient,
    accounts: Accounts,
    clock: Any,
) -> None:
    made = _reported_case(client, accounts)
    number, case_id = made["household"]["household_no"], made["case_id"]

    # the village cadre, on the phone: verify → review → notice
    _log_in(phone, live_server, "cadre_a")
    _open_case_from_inbox(phone, number)
    expect(phone.locator("#case-income")).to_contain_text("3,833.33 元")  # (12,000 − 500) / 3
    expect(phone.locator("#case-income")).to_contain_text("低于当年监测线")
    expect(phone.locator("#case-reasons")).to_contain_text("户主务工受伤")
    assert _buttons(phone) == ["提交入户核实", "撤销案件", "改派"]  # the cadre's own report: withdrawable
    phone.get_by_label("走访人").fill("李文、王华")
    phone.get_by_label("核实情况").fill("户主三月务工受伤，至今未能复工，家庭收入明显下降")
    phone.get_by_role("button", name="提交入户核实").click()
    refusal = phone.locator("#action-verify .form-error")
    expect(refusal).to_contain_text(
        "承诺授权书"
    )  # the server says it, in Chinese: no visit without the signed consent
    expect(phone.locator("#action-verify .field-error", has_text="承诺授权书")).to_be_visible()
    phone.console_errors.clear()  # type: ignore[attr-defined]  # the browser logs the refusal's 422 itself
    shot(phone, "desk-case-cadre-refused-390")
    phone.get_by_label("农户已签署承诺授权书").check()
    phone.get_by_role("button", name="提交入户核实").click()
    expect(phone.get_by_role("button", name="提交民主评议结果")).to_be_visible()
    # the success is still said on the case as it now stands
    expect(phone.locator("#status")).to_have_text("已提交：入户核实")
    assert _buttons(phone) == ["提交民主评议结果", "撤销案件", "改派"]
    phone.get_by_label("参会人数").fill("23")
    held: list[Any] = []
    phone.route(
        "**/api/v1/cases/*/actions", lambda route: held.append(route)
    )  # the answer is held back: still sending
    phone.get_by_role("button", name="提交民主评议结果").click()
    expect(phone.get_by_role("button", name="提交民主评议结果")).to_be_disabled()  # no second submission
    assert len(held) == 1
    held[0].continue_()
    phone.unroute("**/api/v1/cases/*/actions")
    expect(phone.get_by_role("button", name="开始公示")).to_be_visible()
    assert _buttons(phone) == ["开始公示", "撤销案件", "改派"]
    phone.get_by_role("button", name="开始公示").click()
    expect(phone.locator(".desk-case-head")).to_contain_text("乡镇审核")
    # the township's step now: the village neither acts nor reassigns it
    assert _buttons(phone) == []
    expect(phone.locator("main")).to_contain_text("这一步不由您办理")
    expect(phone.locator("#timeline > li")).to_have_count(4)  # opened, verify, review, notice
    expect(phone.locator("#timeline")).to_contain_text("李文、王华")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    # the township reviewer, at the desk: the notice still runs, so no approval is offered
    _log_in(desk, live_server, "township_1")
    expect(desk.get_by_role("heading", name="待办案件")).to_be_visible()  # the reviewer's home
    expect(desk.locator("#inbox li", has_text=number)).to_be_visible()
    shot(desk, "desk-inbox-1280")
    desk.locator("#inbox li", has_text=number).get_by_role("link").click()
    expect(desk.get_by_role("heading", name=f"户 {number}")).to_be_visible()
    assert _buttons(desk) == ["退回", "改派"]
    expect(desk.get_by_role("button", name="审核通过")).to_have_count(0)
    expect(desk.get_by_role("button", name="审定通过")).to_have_count(0)

    clock.shift(timedelta(days=6))  # the notice has run its days; the sessions have long expired
    _log_in(desk, live_server, "township_1")
    _open_case_from_inbox(desk, number)
    assert _buttons(desk) == ["审核通过", "退回", "改派"]
    expect(desk.get_by_role("button", name="审定通过")).to_have_count(0)  # the district's, not the township's
    shot(desk, "desk-case-1280")
    desk.get_by_label("审核意见（可不填）").fill("同意")
    asked: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    desk.on("dialog", on_dialog)
    desk.get_by_role("button", name="审核通过").click()  # asked first; the reviewer says no
    expect(desk.get_by_role("button", name="审核通过")).to_be_enabled()
    assert asked == [f"确定对户 {number}「审核通过」吗？"]
    detail = client.get(f"/api/v1/cases/{case_id}", headers=accounts["township_1"]).json()
    assert detail["step"] == "township_review"  # nothing was sent
    answer["accept"] = True
    desk.get_by_role("button", name="审核通过").click()
    expect(desk.locator(".desk-case-head")).to_contain_text("县级审定")
    expect(desk.locator("#status")).to_have_text("已提交：乡镇审核")
    assert _buttons(desk) == []  # the district's step: the township does not reassign it
    assert desk.console_errors == [], desk.console_errors  # type: ignore[attr-defined]

    # the district office decides
    _log_in(desk, live_server, "district")
    _open_case_from_inbox(desk, number)
    assert _buttons(desk) == ["审定通过", "审定不通过", "撤销案件", "改派"]
    desk.get_by_label("监测类别").select_option("脱贫不稳定户")
    desk.get_by_label("因务工就业不稳").check()
    shot(desk, "desk-decision-1280")
    desk.get_by_role("button", name="审定通过").click()
    expect(desk.locator(".desk-case-head")).to_contain_text("已认定")
    assert asked[-1] == f"确定对户 {number}「审定通过」吗？"
    expect(desk.locator("#actions")).to_have_count(0)  # a closed case offers nothing
    assert desk.console_errors == [], desk.console_errors  # type: ignore[attr-defined]

    household = client.get(
        f"/api/v1/households/{made['household']['id']}", headers=accounts["district"]
    ).json()
    assert (household["monitoring_status"], household["monitoring_category"]) == ("monitored", "脱贫不稳定户")
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=accounts["district"]).json()["timeline"]
    assert [e["action"] for e in timeline] == ["opened", "verify", "review", "notice", "approve", "confirm"]


def test_the_desk_pages_on_a_phone_and_another_townships_reviewer(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    made = _reported_case(client, accounts)
    number, case_id = made["household"]["household_no"], made["case_id"]
    cadre = accounts["cadre_a"]
    verify = {
        "action": "verify",
        "visited_on": local_today().isoformat(),
        "visitors": ["李文"],
        "findings": "属实",
        "consent_signed": True,
    }
    review = {"action": "review", "held_on": local_today().isoformat(), "outcome": "agreed", "attendees": 9}
    for body in (verify, review, {"action": "notice", "starts_on": local_today().isoformat()}):
        assert client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=cadre).status_code == 200

    _log_in(phone, live_server, "township_1")
    expect(phone.locator("#inbox li", has_text=number)).to_be_visible()
    expect(phone.locator("#nav .desk-count")).to_have_text("1")  # the new work, unread
    shot(phone, "desk-inbox-390")
    phone.get_by_label("是否逾期").select_option("true")
    expect(phone.locator("#inbox")).to_contain_text("没有待办案件")  # nothing is overdue yet
    phone.get_by_label("是否逾期").select_option("")
    phone.get_by_label("村", exact=True).select_option(label="把者岱村")  # the township's other village
    expect(phone.locator("#inbox")).to_contain_text("没有待办案件")
    phone.get_by_label("村", exact=True).select_option(label="洛河村")
    expect(phone).to_have_url(re.compile(r"#/inbox\?village_code=530402202201$"))  # kept for going back
    phone.locator("#inbox li", has_text=number).get_by_role("link").click()
    expect(phone.get_by_role("heading", name=f"户 {number}")).to_be_visible()
    expect(phone.get_by_role("cell", name="测试户主")).to_be_visible()  # a reviewer reads the names
    shot(phone, "desk-case-390")

    phone.locator("#nav").get_by_role("link", name="通知").click()
    expect(phone.get_by_role("heading", name="通知")).to_be_visible()
    expect(phone.locator("#notifications li")).to_have_count(1)
    phone.get_by_role("button", name="标为已读", exact=True).click()
    expect(phone.get_by_role("button", name="标为已读", exact=True)).to_have_count(0)
    expect(phone.locator("#nav .desk-count")).to_be_hidden()
    shot(phone, "desk-notifications-390")

    _no_sideways_scroll(phone, live_server, "#/inbox", "待办案件")
    _no_sideways_scroll(phone, live_server, f"#/cases/{case_id}", f"案件 {case_id} · 户 {number}")
    _no_sideways_scroll(phone, live_server, "#/notifications", "通知")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]

    # a reviewer of another township: the API's 404, as the page says it
    _log_in(phone, live_server, "township_2")
    expect(phone.locator("#inbox-summary")).to_have_text("共 0 件，其中已逾期 0 件；按到期时间排列。")
    phone.goto(f"{live_server}/#/cases/{case_id}")
    expect(phone.get_by_role("heading", name="找不到")).to_be_visible()
    assert client.get(f"/api/v1/cases/{case_id}", headers=accounts["township_2"]).status_code == 404


def test_the_reviewer_reads_a_relief_application_masked_on_its_case(
    desk: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    accounts.create("platform")
    accounts.create("township_1")
    with db.session_scope() as session:
        key_id, secret = relief_keys.create(session, settings, Actor.system("test"), "platform")
    helper = {"name": "李文", "phone": "13700001234", "relation": "村民小组长"}
    answer = Platform(client, key_id, secret).post("applications", application(on_behalf_of=helper))
    assert answer.status_code == 202, answer.text
    case_id = answer.json()["case_id"]

    _log_in(desk, live_server, "township_1")
    desk.goto(f"{live_server}/#/cases/{case_id}")
    shown = desk.locator("#application-YN-2026-000123")
    expect(shown).to_contain_text("李秀英")
    expect(shown).to_contain_text("医疗")
    expect(shown).to_contain_text("丈夫住院")
    expect(shown).to_contain_text("诊断书.jpg")
    expect(shown).to_contain_text("30,000.00 元")
    page_text = desk.locator("main").inner_text()
    assert "13912345678" not in page_text
    assert "13700001234" not in page_text
    assert APPLICANT_ID not in page_text  # the ID number masked, as the API gives it
    assert APPLICANT_ID[-4:] in page_text
    expect(desk.locator("#case-income")).to_have_count(0)  # a provisional household: no report yet
    shot(desk, "desk-application-1280")
    assert desk.console_errors == [], desk.console_errors  # type: ignore[attr-defined]


def test_a_scored_case_names_who_acted_in_words_and_says_each_reason_once(
    desk: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings, poor: int
) -> None:
    accounts.create("township_1")
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert cases.open_for_run(db.get_sessionmaker(), settings, run.id) == {"opened": 1}
    with db.session_scope() as session:
        case = session.query(Case).filter(Case.household_id == poor).one()
        case_id = case.id
        # the village's window runs out unanswered: the escalation job acts
        assert escalation.escalate_overdue(session, settings, now=case.due_at + timedelta(minutes=1)) == 1
    detail = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()
    assert [e["actor"] for e in detail["timeline"]] == ["system:risk_scorer", "system:escalation"]

    _log_in(desk, live_server, "cadre_a")
    desk.goto(f"{live_server}/#/cases/{case_id}")
    expect(desk.locator("#timeline > li")).to_have_count(2)
    expect(desk.locator("#timeline")).to_contain_text("系统（风险评分）")
    expect(desk.locator("#timeline")).to_contain_text("系统（逾期提醒与升级）")
    expect(desk.locator("#timeline")).to_contain_text("升级给乡镇审核员")
    text = desk.locator("main").inner_text()
    for raw in ("system:", "risk_scorer", "escalat", "village_verification", "township_reviewer"):
        assert raw not in text, raw
    reasons = [r["text"] for r in detail["reasons"]]
    assert reasons
    for reason in reasons:  # the scorer's reasons are the case's: each said once
        assert text.count(reason) == 1, (reason, text)
    shot(desk, "desk-scored-case-1280")
    assert desk.console_errors == [], desk.console_errors  # type: ignore[attr-defined]


def test_all_notifications_are_marked_read_at_once(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    accounts.create("township_1")
    for _ in range(2):
        made = _reported_case(client, accounts)["case_id"]
        for body in (
            {"action": "verify", "visited_on": local_today().isoformat(), "visitors": ["李文"],
             "findings": "属实", "consent_signed": True},
            {"action": "review", "held_on": local_today().isoformat(), "outcome": "agreed", "attendees": 9},
            {"action": "notice", "starts_on": local_today().isoformat()},
        ):  # fmt: skip
            answer = client.post(f"/api/v1/cases/{made}/actions", json=body, headers=accounts["cadre_a"])
            assert answer.status_code == 200, answer.text
    _log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/notifications")
    expect(phone.get_by_role("heading", name="通知")).to_be_visible()
    # the cadre moved both cases on: none of that is news to them
    expect(phone.locator("#notifications")).to_contain_text("没有通知")
    expect(phone.get_by_role("button", name="全部标为已读")).to_have_count(0)

    _log_in(phone, live_server, "township_1")
    expect(phone.locator("#nav .desk-count")).to_have_text("2")
    phone.locator("#nav").get_by_role("link", name="通知").click()
    expect(phone.get_by_role("button", name="标为已读", exact=True)).to_have_count(2)
    expect(phone.locator("#notifications")).to_contain_text("新的待办")
    shot(phone, "desk-notifications-unread-390")
    phone.get_by_role("button", name="全部标为已读").click()
    expect(phone.locator("#status")).to_have_text("已将 2 条通知标为已读")
    expect(phone.get_by_role("button", name="标为已读", exact=True)).to_have_count(0)
    expect(phone.locator("#nav .desk-count")).to_be_hidden()
    unread = client.get("/api/v1/notifications", params={"unread": "true"}, headers=accounts["township_1"])
    assert unread.json()["total"] == 0
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_the_desk_keeps_no_copy_of_the_servers_lists() -> None:
    """The risk types and the categories come from the API (its enums), not from a list in the page."""
    source = open("app/web/static/desk.js", encoding="utf-8").read()
    for value in ("因务工就业不稳", "脱贫不稳定户", "边缘易致贫户"):
        assert value not in source, value


def test_the_pages_name_steps_and_actions_as_the_servers_procedure_does(
    desk: Page,
    live_server: str,
    client: TestClient,
    accounts: Accounts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The web app keeps no list of its own: renamed in the procedure's table, a step and an action read
    the new names on the inbox and the case's timeline."""
    import dataclasses

    from app.models.enums import CaseStep
    from app.services.cases import procedure

    made = _reported_case(client, accounts)
    step = procedure.STEPS[CaseStep.village_verification]
    monkeypatch.setitem(
        procedure.STEPS, CaseStep.village_verification, dataclasses.replace(step, label_zh="入户核实（新称）")
    )
    _log_in(desk, live_server, "cadre_a")
    desk.locator("#nav").get_by_role("link", name="待办").click()
    expect(desk.locator("#inbox li", has_text=made["household"]["household_no"])).to_contain_text(
        "入户核实（新称）"
    )
    desk.goto(f"{live_server}/#/cases/{made['case_id']}")
    expect(desk.get_by_role("heading", name=f"户 {made['household']['household_no']}")).to_be_visible()
    expect(desk.locator("body")).to_contain_text("入户核实（新称）")
    assert desk.console_errors == []  # type: ignore[attr-defined]
