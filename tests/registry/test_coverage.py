"""Issue 13, acceptance 3: screening coverage of a month for a constructed village (some visited, some
reported on, some neither, some seen long ago, some just outside the policy's months), by village,
township and district; the stale queue is exactly the households not covered within the policy's months,
and the household list agrees with it. Visits are inserted as rows; reports go through the API and are
then dated back to when they were sent (which does not matter: a report covers the months of its period).
Today is 2026-12-02 in the district (the frozen clock): the policy's six months are July to December."""

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import Household, Report, Visit
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

_refs = itertools.count(1)
TO_NOVEMBER = ("2026-09-01", "2026-11-30")  # a quarter that covers November
Q3 = ("2026-07-01", "2026-09-30")  # covers July to September, within the policy's months
Q1 = ("2026-01-01", "2026-03-31")  # before them, however late it is sent
LAST_YEAR = ("2025-01-01", "2025-12-31")


def visit(session: Session, household_id: int, village: str, day: date) -> None:
    """A visit as the recording API will store it."""
    n = next(_refs)
    session.add(
        Visit(
            household_id=household_id,
            village_code=village,
            visited_on=day,
            kind="routine",
            visitors=["李文"],
            findings="",
            flags=[],
            client_ref=f"visit-{n}",
            body_hash=f"{n:064d}",
        )
    )


def report(
    client: TestClient,
    session: Session,
    headers: dict[str, str],
    hid: int,
    period: tuple[str, str],
    sent: datetime,
) -> None:
    """A report through the API, then dated to the moment it was sent."""
    body = report_body(f"r{next(_refs)}", *period)
    response = client.post(f"/api/v1/households/{hid}/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    session.execute(update(Report).where(Report.id == response.json()["id"]).values(created_at=sent))
    session.commit()  # (SQLite: the next request writes)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def build(client: TestClient, accounts: Accounts, session: Session) -> dict[str, int]:
    """Village A's households (registered on 1 June unless said), and one or two elsewhere."""
    cadre = accounts["cadre_a"]
    names = (
        "visited", "both", "reported", "backfilled", "neither", "long_ago", "october", "june", "q1_in_july",
        "q3",
    )  # fmt: skip
    h = {name: new_household(client, cadre)["id"] for name in names}
    h |= {
        "b_visited": new_household(client, accounts["cadre_b"], village=VILLAGE_B)["id"],
        "b_neither": new_household(client, accounts["cadre_b"], village=VILLAGE_B)["id"],
        "c_reported": new_household(client, accounts["cadre_c"], village=VILLAGE_C)["id"],
    }
    session.execute(update(Household).where(Household.id.in_(h.values())).values(created_at=at(2026, 6, 1)))
    session.commit()
    h["late"] = new_household(client, cadre)["id"]  # registered today: not in November's village
    visit(session, h["visited"], VILLAGE_A, date(2026, 11, 1))
    visit(session, h["visited"], VILLAGE_A, date(2026, 11, 30))
    visit(session, h["both"], VILLAGE_A, date(2026, 11, 5))
    visit(session, h["long_ago"], VILLAGE_A, date(2026, 3, 10))
    visit(session, h["october"], VILLAGE_A, date(2026, 10, 20))
    visit(session, h["october"], VILLAGE_A, date(2026, 12, 1))
    visit(session, h["june"], VILLAGE_A, date(2026, 6, 20))  # ten days before the policy's months
    visit(session, h["b_visited"], VILLAGE_B, date(2026, 11, 15))
    report(client, session, cadre, h["both"], TO_NOVEMBER, at(2026, 12, 1, 3))
    report(client, session, cadre, h["reported"], TO_NOVEMBER, at(2026, 11, 30, 15, 59))
    report(client, session, cadre, h["q3"], Q3, at(2026, 10, 8))
    # sent in July, but about the first quarter: it covers January to March
    report(client, session, cadre, h["q1_in_july"], Q1, at(2026, 7, 15))
    report(client, session, cadre, h["backfilled"], LAST_YEAR, at(2026, 11, 12, 2))
    report(
        client, session, accounts["cadre_c"], h["c_reported"], ("2026-11-01", "2026-11-30"), at(2026, 12, 1)
    )
    session.commit()
    return h


def get(client: TestClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1/coverage{path}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def counts(row: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return row["registered"], row["covered"], row["visited"], row["reported_only"], row["not_covered"]


def by_code(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_a_months_coverage_of_a_village_its_township_and_the_district(
    client: TestClient, accounts: Accounts, session: Session
) -> None:
    build(client, accounts, session)

    village = get(client, accounts["cadre_a"], "", month="2026-11")
    assert village["month"] == "2026-11"
    assert [v["village_code"] for v in village["villages"]] == [VILLAGE_A]  # its own village only
    [a] = village["villages"]
    # 10 registered by November's end (not the one registered today): visited 2 (one also reported on),
    # reported on only 1; not: last year's, the first quarter's and the third quarter's reports, nobody,
    # March's, June's and October's visits
    assert counts(a) == (10, 3, 2, 1, 7)
    assert a["share"] == 0.3
    assert counts(village["total"]) == (10, 3, 2, 1, 7)
    assert village["stale_report_months"] == 6

    township = get(client, accounts["township_1"], "", month="2026-11")
    rows = by_code(township["villages"], "village_code")
    assert VILLAGE_C not in rows
    assert counts(rows[VILLAGE_B]) == (2, 1, 1, 0, 1)
    assert all(
        counts(row) == (0, 0, 0, 0, 0) and row["share"] is None
        for c, row in rows.items()
        if c not in (VILLAGE_A, VILLAGE_B)
    )
    assert counts(township["total"]) == (12, 4, 3, 1, 8)
    assert [t["township_code"] for t in township["townships"]] == [TOWNSHIP_1]

    district = get(client, accounts["district"], "", month="2026-11")
    towns = by_code(district["townships"], "township_code")
    assert counts(towns[TOWNSHIP_1]) == (12, 4, 3, 1, 8)
    assert counts(towns[TOWNSHIP_2]) == (1, 1, 0, 1, 0)
    assert counts(district["total"]) == (13, 5, 3, 2, 8)
    assert district["total"]["share"] == 0.3846
    narrowed = get(client, accounts["district"], "", month="2026-11", township=TOWNSHIP_2)
    assert counts(narrowed["total"]) == (1, 1, 0, 1, 0)
    assert counts(get(client, accounts["district"], "", month="2026-11", village=VILLAGE_B)["total"]) == (
        2,
        1,
        1,
        0,
        1,
    )

    # this month (the default): the one registered today counts; a visit on the 1st; no report's period
    # reaches December yet
    december = get(client, accounts["cadre_a"], "")
    assert december["month"] == "2026-12"
    assert counts(december["total"]) == (11, 1, 1, 0, 10)


def test_the_village_list_says_how_each_household_was_covered_not_covered_first(
    client: TestClient, accounts: Accounts, session: Session
) -> None:
    h = build(client, accounts, session)
    page = get(client, accounts["cadre_a"], f"/villages/{VILLAGE_A}", month="2026-11")
    assert page["total"] == 10
    assert counts(page["village"]) == (10, 3, 2, 1, 7)
    items = page["items"]
    order = [
        "backfilled", "neither", "long_ago", "october", "june", "q1_in_july", "q3",
        "reported", "visited", "both",
    ]  # fmt: skip
    assert [i["household_id"] for i in items] == [h[name] for name in order]
    got = {i["household_id"]: i for i in items}
    assert (got[h["visited"]]["covered"], got[h["visited"]]["visited_on"], got[h["visited"]]["visits"]) == (
        "visited",
        "2026-11-30",
        2,
    )
    assert got[h["both"]]["covered"] == "visited"  # a visit wins
    assert got[h["both"]]["reported_on"] == "2026-11-30"  # the end of the reported period
    assert (got[h["reported"]]["covered"], got[h["reported"]]["reported_on"]) == ("reported", "2026-11-30")
    assert got[h["reported"]]["visited_on"] is None
    for name in ("backfilled", "neither", "long_ago", "october", "june", "q1_in_july", "q3"):
        assert (got[h[name]]["covered"], got[h[name]]["visits"], got[h[name]]["reported_on"]) == (
            "none",
            0,
            None,
        )
    # today's stale flag beside the month's coverage: October's visit and the third quarter still count
    assert {n for n in order if got[h[n]]["stale"]} == {
        "backfilled",
        "neither",
        "long_ago",
        "june",
        "q1_in_july",
    }

    second = get(
        client, accounts["township_1"], f"/villages/{VILLAGE_A}", month="2026-11", page=2, page_size=3
    )
    assert [i["household_id"] for i in second["items"]] == [h["october"], h["june"], h["q1_in_july"]]
    december = get(client, accounts["district"], f"/villages/{VILLAGE_A}", month="2026-12", page_size=20)
    assert december["total"] == 11
    assert december["items"][-1]["household_id"] == h["october"]
    assert (december["items"][-1]["covered"], december["items"][-1]["visited_on"]) == (
        "visited",
        "2026-12-01",
    )


def test_the_stale_queue_is_exactly_the_households_not_covered_within_the_policys_months(
    client: TestClient, accounts: Accounts, session: Session
) -> None:
    h = build(client, accounts, session)
    cadre = accounts["cadre_a"]
    due = client.get("/api/v1/visits/due", headers=cadre).json()
    # never seen first (by id), then the longest unseen: last year's report, March's visit, the first
    # quarter's report (sent in July), June's visit (ten days before the policy's months)
    assert [i["household_id"] for i in due["items"]] == [
        h["neither"],
        h["late"],
        h["backfilled"],
        h["long_ago"],
        h["q1_in_july"],
        h["june"],
    ]
    items = {i["household_id"]: i for i in due["items"]}
    assert (items[h["long_ago"]]["last_visit_on"], items[h["long_ago"]]["last_report_end"]) == (
        "2026-03-10",
        None,
    )
    assert (items[h["backfilled"]]["last_visit_on"], items[h["backfilled"]]["last_report_end"]) == (
        None,
        "2025-12-31",
    )

    # the same households as those no month of the policy's six covered
    covered: set[int] = set()
    for month in ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"):
        listed = get(client, cadre, f"/villages/{VILLAGE_A}", month=month, page_size=500)["items"]
        covered |= {i["household_id"] for i in listed if i["covered"] != "none"}
    village_a = {v for k, v in h.items() if not k.startswith(("b_", "c_"))}
    assert set(items) == village_a - covered

    # the household list's flag is the same rule: a visit alone takes a never-reported household off
    listed = client.get("/api/v1/households", headers=cadre, params={"page_size": 500}).json()["items"]
    stale = {i["id"] for i in listed if i["stale"]}
    assert stale == set(items)
    one = client.get(f"/api/v1/households/{h['october']}", headers=cadre).json()
    assert (one["stale"], one["last_report_end"], one["last_visit_on"]) == (False, None, "2026-12-01")
    # and a visit recorded now takes a household off the queue at once
    visit(session, h["neither"], VILLAGE_A, date(2026, 12, 2))
    session.commit()
    assert h["neither"] not in {
        i["household_id"] for i in client.get("/api/v1/visits/due", headers=cadre).json()["items"]
    }
    assert (
        client.get("/api/v1/visits/due", headers=accounts["township_1"]).json()["total"] == 6
    )  # + b_neither


def test_coverage_is_refused_outside_the_region_and_to_those_with_no_business(
    client: TestClient, accounts: Accounts, session: Session
) -> None:
    build(client, accounts, session)
    path = f"/api/v1/coverage/villages/{VILLAGE_A}"
    for name in ("cadre_b", "township_2"):
        refused = client.get(path, headers=accounts[name], params={"month": "2026-11"})
        assert refused.status_code == 404, refused.text
        assert refused.json()["field"] == "village_code"
    township_code = client.get(f"/api/v1/coverage/villages/{TOWNSHIP_1}", headers=accounts["district"])
    assert township_code.status_code == 404  # not a village
    outside = client.get("/api/v1/coverage", headers=accounts["cadre_a"], params={"township": TOWNSHIP_2})
    assert (outside.status_code, outside.json()["field"]) == (404, "township")
    for name in ("department", "admin"):
        for url in ("/api/v1/coverage", path):
            assert client.get(url, headers=accounts[name]).status_code == 403


@pytest.mark.parametrize("month", ["2027-01", "2026-13", "2026-1", "Nov 2026", "1999-12", "2026-11-01"])
def test_a_month_not_begun_or_malformed_is_refused_naming_month(
    client: TestClient, accounts: Accounts, month: str
) -> None:
    for path in ("", f"/villages/{VILLAGE_A}"):
        refused = client.get(f"/api/v1/coverage{path}", headers=accounts["cadre_a"], params={"month": month})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "month"
