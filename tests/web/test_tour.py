"""Every page of the web app, for every role that works in it: reached from the menu and the home page's
own links as a user would, each at 360 px (no sideways scrolling), 390 px and 1280 px, with a screenshot
of each and no console error anywhere."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from app import db
from app.clock import local_today
from app.config import get_settings
from app.risk import scorer
from app.services.lists import risk_list_generation, risk_lists
from app.services.platform.access import Actor
from tests.fixtures import PASSWORD, VILLAGE_B, VILLAGE_C, Accounts, new_household, report_body
from tests.web.conftest import console_errors, shot

WIDTHS = (360, 390, 1280)
# the pages a role's home page links to, followed once each: a household's page, a case's page
DETAIL_LINKS = re.compile(r"^#/(households|cases)/\d+$")


def _district(client: TestClient, accounts: Accounts, clock: time_machine.Traveller) -> None:
    """A village with reported, silent and poor households and cases at the village's, the township's and
    the district's steps; another village and township; a scoring run and this week's list."""
    cadre = accounts["cadre_a"]
    poor = new_household(client, cadre)
    silent = new_household(client, cadre)
    at_township, at_district = new_household(client, cadre), new_household(client, cadre)
    new_household(client, accounts["cadre_b"], village=VILLAGE_B)
    new_household(client, accounts["cadre_c"], village=VILLAGE_C)
    body = report_body("y", "2025-12-01", "2026-11-30", wages="12000", business="0", prop="0", transfer="0")
    stored = client.post(f"/api/v1/households/{poor['id']}/reports", json=body, headers=cadre)
    assert stored.status_code == 201, stored.text
    cases = []
    for household in (silent, at_township, at_district):
        signal = {"household_id": household["id"], "level": "high", "description": "户主住院，家中无人务工"}
        reported = client.post("/api/v1/cases", json=signal, headers=cadre)
        assert reported.status_code == 201, reported.text
        cases.append(reported.json()["case_id"])
    today = local_today().isoformat()
    village_steps = [
        {
            "action": "verify",
            "visited_on": today,
            "visitors": ["李文"],
            "findings": "属实",
            "consent_signed": True,
        },
        {"action": "review", "held_on": today, "outcome": "agreed", "attendees": 9},
        {"action": "notice", "starts_on": today},
    ]
    for case_id in cases[1:]:
        for step in village_steps:
            done = client.post(f"/api/v1/cases/{case_id}/actions", json=step, headers=cadre)
            assert done.status_code == 200, done.text
    clock.shift(timedelta(days=6))  # the notices have run their days
    township = {"Authorization": f"Bearer {accounts.tokens('township_1')['access_token']}"}
    approved = client.post(f"/api/v1/cases/{cases[2]}/actions", json={"action": "approve"}, headers=township)
    assert approved.status_code == 200, approved.text
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    with db.session_scope() as session:
        risk_list_generation.generate(
            session, get_settings(), Actor.system("test"), risk_lists.week_of(local_today())
        )


def _settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.locator("#view h1")).to_be_visible()
    expect(page.locator("#view")).not_to_contain_text("正在加载")


# every field has a <label> (or an accessible name), every button and link says what it does in text
UNLABELLED = """() => [
  ...[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
    .filter((c) => !(c.labels && c.labels.length))
    .filter((c) => !c.getAttribute("aria-label") && !c.getAttribute("aria-labelledby"))
    .map((c) => `field ${c.name || c.id || c.type}`),
  ...[...document.querySelectorAll("button, a[href]")]
    .filter((b) => !b.textContent.trim() && !b.getAttribute("aria-label"))
    .map((b) => `${b.tagName.toLowerCase()} ${b.getAttribute("href") || b.className}`),
]"""


def _name(href: str) -> str:
    return href.strip("#/").replace("/", "-") or "home"


def _visit(page: Page, url: str, name: str) -> dict[str, Any]:
    """The page at each width: sideways scrolling at 360 px, and a screenshot at each width."""
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(url)
    _settle(page)
    heading = page.locator("#view h1").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth")
    unlabelled = page.evaluate(UNLABELLED)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844 if width < 1000 else 900})
        page.wait_for_timeout(50)
        shot(page, f"tour-{name}-{width}")
    return {"page": name, "heading": heading, "scroll_width_at_360": overflow, "unlabelled": unlabelled}


@pytest.mark.parametrize("username", ["cadre_a", "township_1", "district", "department", "admin"])
def test_every_page_fits_a_phone_and_logs_no_error(
    browser: Browser,
    live_server: str,
    client: TestClient,
    accounts: Accounts,
    clock: time_machine.Traveller,
    username: str,
) -> None:
    _district(client, accounts, clock)
    accounts.create(username)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    errors = console_errors(page)
    page.goto(live_server + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    _settle(page)

    menu = [a.get_attribute("href") or "" for a in page.locator("#nav a").all()]
    seen = []
    found: dict[str, str] = {}  # the first household and the first case the pages link to
    queue = ["#/", *dict.fromkeys(menu)]
    while queue:
        href = queue.pop(0)
        seen.append(_visit(page, f"{live_server}/{href}", f"{username}-{_name(href)}"))
        for link in page.locator("#view a").all():
            matched = DETAIL_LINKS.match(link.get_attribute("href") or "")
            if matched and matched.group(1) not in found:
                found[matched.group(1)] = matched.group(0)
                queue.append(matched.group(0))
    context.close()

    assert len(seen) >= 2, seen  # the home page and at least one more page for every role
    if username in ("cadre_a", "township_1", "district"):
        assert set(found) == {"households", "cases"}, found  # their pages lead to both kinds
    assert [(s["page"], s["unlabelled"]) for s in seen if s["unlabelled"]] == []
    too_wide = [s for s in seen if s["scroll_width_at_360"] > 360]
    assert too_wide == [], too_wide
    assert all(s["heading"] not in ("找不到", "出错了") for s in seen), seen
    assert errors == [], errors
