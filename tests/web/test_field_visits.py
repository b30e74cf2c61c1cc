"""Field work on the cadre's phone (390×844): the household page shows its helper (帮扶责任人) and its
visits; the cadre records a visit with a photo taken on the phone (scaled down before it is sent) and,
having found illness, reports the household in the same step; offline, the visit and its photo wait as a
draft and are sent, once, when the connection returns."""

import io

from fastapi.testclient import TestClient
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from app.config import Settings
from app.worker import jobs
from tests.fieldwork.test_cluster_alerts import burst
from tests.fixtures import VILLAGE_A, Accounts, new_household
from tests.web.conftest import shot
from tests.web.test_cadre_pages import log_in, no_sideways_scroll
from tests.web.test_offline_drafts import COUNT_DRAFTS, offline_failure


def photo(width: int = 3000, height: int = 2000) -> bytes:
    """A phone camera's photo: larger than the web app sends."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), "darkgreen").save(out, "JPEG", quality=95)
    return out.getvalue()


def _fill_visit(page: Page, day: str, visitors: str, findings: str) -> None:
    page.get_by_label("走访日期").fill(day)
    page.get_by_label("走访人").fill(visitors)
    page.get_by_label("情况说明").fill(findings)


def test_a_cadre_sees_the_helper_and_records_a_visit_with_a_photo_that_opens_a_case(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    helper = client.post(
        "/api/v1/helpers",
        json={"name": "张帮", "unit": "红塔区农业农村局", "phone": "13912345678"},
        headers=accounts["township_1"],
    ).json()
    paired = client.post(
        f"/api/v1/households/{household['id']}/helpers",
        json={"helper_id": helper["id"], "started_on": "2026-06-01"},
        headers=accounts["township_1"],
    )
    assert paired.status_code == 201, paired.text
    log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}")
    expect(phone.locator("#helper")).to_contain_text("张帮 · 红塔区农业农村局")
    expect(phone.locator("#helper")).to_contain_text("*******5678")
    expect(phone.locator("#visits")).to_have_text("还没有走访记录。")

    phone.get_by_role("link", name="记录走访").click()
    expect(phone.get_by_role("heading", name="记录走访")).to_be_visible()
    _fill_visit(phone, "2026-12-01", "李文、张帮", "户主腰伤住院，暂不能外出务工")
    phone.get_by_label("患病").check()
    phone.get_by_label("收入变化").check()
    phone.get_by_label("照片").set_input_files(
        files=[FilePayload(name="bill.jpg", mimeType="image/jpeg", buffer=photo())]
    )
    phone.get_by_label("发现困难，立即报告（进入入户核实）").check()
    shot(phone, "cadre-visit-form-390")
    no_sideways_scroll(phone)
    phone.get_by_role("button", name="保存走访").click()

    expect(phone.get_by_role("heading", name=f"农户 {household['household_no']}")).to_be_visible()
    expect(phone.locator("#status")).to_contain_text("已记录走访，并已报告")
    visit = phone.locator("#visits .visit").first
    expect(visit).to_contain_text("日常排查")
    expect(visit).to_contain_text("走访人：李文、张帮")
    expect(visit.locator(".badge")).to_have_text(["收入变化", "患病"])
    expect(visit.locator("img")).to_have_count(1)
    expect(visit.locator("img")).to_have_js_property("complete", True)
    assert visit.locator("img").evaluate("img => img.naturalWidth") == 1600  # scaled down on the phone
    expect(phone.locator("#case")).to_be_visible()  # the household is now on its way to verification
    shot(phone, "cadre-household-visits-390")

    stored = client.get(f"/api/v1/households/{household['id']}/visits", headers=cadre).json()["items"]
    assert [(v["flags"], v["case_id"] is not None) for v in stored] == [(["income_change", "illness"], True)]
    [picture] = stored[0]["photos"]
    assert (picture["media_type"], picture["width"], picture["height"]) == ("image/jpeg", 1600, 1067)
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert errors == [], errors


def test_a_visit_recorded_offline_is_sent_with_its_photo_when_the_connection_returns(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    log_in(phone, live_server, "cadre_a")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.goto(f"{live_server}/#/households/{household['id']}/visit")
    expect(phone.get_by_role("heading", name="记录走访")).to_be_visible()
    phone.context.set_offline(True)
    _fill_visit(phone, "2026-11-30", "李文", "房屋漏雨")
    phone.get_by_label("住房").check()
    phone.get_by_label("照片").set_input_files(
        files=[FilePayload(name="roof.jpg", mimeType="image/jpeg", buffer=photo(800, 600))]
    )
    phone.get_by_role("button", name="保存走访").click()
    expect(phone.locator("#visit-result")).to_contain_text("已保存为待发送（含照片）")
    expect(phone.locator("#drafts-bar")).to_contain_text("1 份待发送")
    assert phone.evaluate(COUNT_DRAFTS) == 1

    phone.context.set_offline(False)
    expect(phone.locator("#drafts-bar")).to_have_count(0, timeout=10000)
    assert phone.evaluate(COUNT_DRAFTS) == 0
    stored = client.get(f"/api/v1/households/{household['id']}/visits", headers=cadre).json()["items"]
    assert [(v["findings"], v["flags"], len(v["photos"])) for v in stored] == [("房屋漏雨", ["housing"], 1)]
    assert stored[0]["photos"][0]["width"] == 800  # already small: not enlarged
    errors = [e for e in phone.console_errors if not offline_failure(e)]  # type: ignore[attr-defined]
    assert errors == [], errors


def test_a_township_reviewer_is_told_of_a_cluster_alert_in_the_notifications(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    accounts.create("township_1")
    burst(client, accounts, settings, VILLAGE_A, 5, "因自然灾害")
    jobs.cluster_alerts()
    log_in(phone, live_server, "township_1")
    phone.goto(f"{live_server}/#/notifications")
    note = phone.locator("#notifications li").first
    expect(note).to_contain_text("集中预警")
    expect(note).to_contain_text("洛河村（村）")
    expect(note).to_contain_text("5 户出现新的风险信号，主要原因：因自然灾害")
    expect(note.get_by_role("link")).to_have_count(0)  # no case to open: the words say it all
    shot(phone, "desk-notification-cluster-alert-390")
    errors = phone.console_errors  # type: ignore[attr-defined]
    assert errors == [], errors
