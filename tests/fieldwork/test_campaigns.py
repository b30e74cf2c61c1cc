"""集中排查: a campaign over two townships gives one task per household in scope; completion moves as visits
are recorded; its closing summary (JSON and XLSX) matches the visits and the cases."""

import io
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app import db
from app.models import AuditEntry, Household
from app.models.enums import MonitoringCategory
from tests.fieldwork.test_visits import record, visit_body
from tests.fixtures import (
    CADRE_OF,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    new_household,
    race,
)

CAMPAIGNS = "/api/v1/campaigns"
SCOPE = {
    "name": "2026 年防返贫集中排查",
    "starts_on": "2026-11-20",
    "ends_on": "2026-12-20",
    "townships": [TOWNSHIP_1, TOWNSHIP_2],
    "household_types": ["脱贫户"],
    "monitoring_categories": ["边缘易致贫户"],
}


def district_of(client: TestClient, accounts: Accounts) -> dict[str, list[int]]:
    """Per village: two 脱贫户, one 一般农户 that is 边缘易致贫户 (in scope), one 一般农户 (not)."""
    out: dict[str, list[int]] = {}
    for village in (VILLAGE_A, VILLAGE_B, VILLAGE_C):
        cadre = accounts[CADRE_OF[village]]
        lifted = [int(new_household(client, cadre, village=village)["id"]) for _ in range(2)]
        marginal, ordinary = (
            int(new_household(client, cadre, village=village, household_type="一般农户")["id"])
            for _ in range(2)
        )
        with db.session_scope() as session:
            session.execute(
                update(Household)
                .where(Household.id == marginal)
                .values(monitoring_category=MonitoringCategory.marginal)
            )
        out[village] = [*lifted, marginal, ordinary]
    return out


def by_village(progress: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {v["village_code"]: (v["tasks"], v["visited"]) for v in progress["villages"]}


def test_a_campaign_over_two_townships_runs_from_tasks_to_its_summary(
    client: TestClient, accounts: Accounts
) -> None:
    households = district_of(client, accounts)
    a_first, a_second, a_marginal, a_ordinary = households[VILLAGE_A]
    # a visit made in the period before the campaign opened counts for it
    assert (
        record(client, accounts["cadre_a"], a_first, visit_body("early", visited_on="2026-11-25")).status_code
        == 201
    )

    opened = client.post(CAMPAIGNS, json=SCOPE, headers=accounts["district"])
    assert opened.status_code == 201, opened.text
    campaign = opened.json()
    assert campaign["tasks"] == 9  # three in scope in each of three villages
    url = f"{CAMPAIGNS}/{campaign['id']}"
    progress = client.get(url, headers=accounts["district"]).json()
    assert by_village(progress) == {VILLAGE_A: (3, 1), VILLAGE_B: (3, 0), VILLAGE_C: (3, 0)}

    # visits move it: a routine one, one that finds illness and opens a case; a household out of scope and a
    # visit outside the period do not
    assert (
        record(
            client, accounts["cadre_a"], a_marginal, visit_body("m-1", visited_on="2026-12-01")
        ).status_code
        == 201
    )
    ill = visit_body("m-2", flags=["illness"], open_case={"level": "high"}, visited_on="2026-12-01")
    found = record(client, accounts["cadre_a"], a_second, ill)
    assert found.json()["signal_outcome"] == "opened", found.text
    assert record(client, accounts["cadre_a"], a_ordinary, visit_body("o-1")).status_code == 201
    b_first = households[VILLAGE_B][0]
    assert (
        record(client, accounts["cadre_b"], b_first, visit_body("old", visited_on="2026-11-01")).status_code
        == 201
    )
    progress = client.get(url, headers=accounts["district"]).json()
    assert by_village(progress) == {VILLAGE_A: (3, 3), VILLAGE_B: (3, 0), VILLAGE_C: (3, 0)}
    assert (progress["tasks"], progress["visited"]) == (9, 3)
    # each sees its own region
    assert by_village(client.get(url, headers=accounts["township_2"]).json()) == {VILLAGE_C: (3, 0)}
    assert by_village(client.get(url, headers=accounts["cadre_b"]).json()) == {VILLAGE_B: (3, 0)}
    tasks = client.get(
        "/api/v1/field-tasks",
        params={"campaign_id": campaign["id"], "state": "open"},
        headers=accounts["cadre_a"],
    )
    assert tasks.json()["total"] == 0
    assert client.get(f"{url}/summary", headers=accounts["district"]).status_code == 409  # not closed yet

    closed = client.post(f"{url}/close", headers=accounts["district"])
    assert closed.status_code == 200, closed.text
    assert closed.json()["totals"] == {"tasks": 9, "visited": 3, "cases_opened": 1, "risks_eliminated": 0}
    # a visit after the close changes nothing in the summary
    assert (
        record(client, accounts["cadre_c"], households[VILLAGE_C][0], visit_body("late")).status_code == 201
    )
    summary = client.get(f"{url}/summary", headers=accounts["district"]).json()
    assert summary["totals"] == {"tasks": 9, "visited": 3, "cases_opened": 1, "risks_eliminated": 0}
    village_a = next(v for v in summary["villages"] if v["village_code"] == VILLAGE_A)
    assert (village_a["visited"], village_a["cases_opened"]) == (3, 1)

    xlsx = client.get(f"{url}/summary", params={"format": "xlsx"}, headers=accounts["township_1"])
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content))["汇总"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert [r[2:4] for r in rows] == [[3, 3], [3, 0], [6, 3]]  # township 1's villages A, B, then 合计
    assert rows[-1][0] == "合计"
    assert rows[0][5] == 1  # village A's case
    assert client.post(f"{url}/close", headers=accounts["district"]).status_code == 409


def test_only_the_district_opens_a_campaign_and_its_scope_is_checked(
    client: TestClient, accounts: Accounts
) -> None:
    assert client.post(CAMPAIGNS, json=SCOPE, headers=accounts["township_1"]).status_code == 403
    assert client.post(CAMPAIGNS, json=SCOPE, headers=accounts["cadre_a"]).status_code == 403
    unknown = client.post(CAMPAIGNS, json=SCOPE | {"townships": [VILLAGE_A]}, headers=accounts["district"])
    assert (unknown.status_code, unknown.json()["field"]) == (422, "townships")
    backwards = client.post(CAMPAIGNS, json=SCOPE | {"ends_on": "2026-11-01"}, headers=accounts["district"])
    assert (backwards.status_code, backwards.json()["field"]) == (422, "ends_on")
    bad_type = client.post(
        CAMPAIGNS, json=SCOPE | {"household_types": ["富裕户"]}, headers=accounts["district"]
    )
    assert bad_type.status_code == 422
    assert client.get(CAMPAIGNS, headers=accounts["department"]).status_code == 403
    assert client.get(CAMPAIGNS, headers=accounts["district"]).json()["total"] == 0  # nothing half-written


def test_a_campaign_closed_twice_at_once_closes_once(
    app: FastAPI, client: TestClient, accounts: Accounts
) -> None:
    district = accounts["district"]
    new_household(client, accounts["cadre_a"])
    campaign = client.post(CAMPAIGNS, json=SCOPE | {"townships": None}, headers=district).json()
    url = f"{CAMPAIGNS}/{campaign['id']}/close"
    answers = race(app, [lambda c: c.post(url, headers=district)] * 3)
    assert sorted(a.status_code for a in answers) == [200, 409, 409], [a.text for a in answers]
    with db.session_scope() as session:
        closes = session.scalar(select(func.count()).where(AuditEntry.action == "campaign.close"))
    assert closes == 1
    assert (
        client.get(f"{CAMPAIGNS}/{campaign['id']}/summary", headers=district).json()["totals"]["tasks"] == 1
    )
