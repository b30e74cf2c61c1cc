"""Acceptance 4: POST /api/v1/reports/batch is all-or-nothing, idempotent by client_ref, lists every error.

Also: items naming households by household_no, the 1,000-item cap, overlaps inside one batch, and
corrections by `supersedes` (the corrected report is kept and marked, never edited).
"""

import copy
import hashlib
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import db
from app.clock import local_today
from app.config import Settings
from app.models import AuditHead, Report
from app.models.enums import RegionLevel, Role
from app.schemas.households import HouseholdCreate
from app.schemas.reports import BatchReportItem
from app.services.platform.access import Actor
from app.services.platform.audit import HEAD_ID
from app.services.registry import households as household_service
from app.services.registry.report_checks import body_hash
from tests.fixtures import (
    VILLAGE_A,
    Accounts,
    household_body,
    make_id,
    member_body,
    new_household,
    report_body,
)

BATCH = "/api/v1/reports/batch"
HOUSEHOLDS = "/api/v1/households"
QUARTERS = [
    ("2025-01-01", "2025-03-31"),
    ("2025-04-01", "2025-06-30"),
    ("2025-07-01", "2025-09-30"),
    ("2025-10-01", "2025-12-31"),
]

Body = dict[str, Any]


def counts() -> tuple[int, int]:
    """(reports stored, audit chain length)."""
    with db.session_scope() as session:
        reports = session.scalar(select(func.count()).select_from(Report)) or 0
        head = session.get(AuditHead, HEAD_ID)
        assert head is not None
        return reports, head.length


def register_households(settings: Settings, accounts: Accounts, n: int) -> list[tuple[int, str]]:
    """n one-person households in village A, straight through the service (fast); (id, household_no)."""
    user_id = accounts.create("cadre_a")
    actor = Actor(user_id, "cadre_a", Role.village_cadre, VILLAGE_A, RegionLevel.village)
    out: list[tuple[int, str]] = []
    with db.session_scope() as session:
        for i in range(n):
            born = date(1950, 1, 1) + timedelta(days=37 * i)
            head = member_body("户主", birth=born, id_number=make_id(born, seq=i))
            body = HouseholdCreate.model_validate(
                household_body(VILLAGE_A, household_no=f"BATCH-{i:04d}", members=[head])
            )
            household = household_service.register(session, settings, actor, body)
            out.append((household.id, household.household_no))
    return out


def quarterly_items(households: list[tuple[int, str]]) -> list[Body]:
    """Four quarterly reports of 2025 per household, in household order."""
    items = []
    for hid, _no in households:
        for q, (start, end) in enumerate(QUARTERS, start=1):
            items.append(
                {
                    **report_body(
                        f"h{hid}-2025q{q}",
                        start,
                        end,
                        wages=str(1000 + hid),
                        business="500",
                        prop="0",
                        transfer="250.50",
                        cost="100",
                    ),
                    "household_id": hid,
                }
            )
    return items


def fields(response_body: Body) -> list[str]:
    return [e["field"] for e in response_body.get("errors") or [response_body]]


# --- acceptance 4 ------------------------------------------------------------------------------------


def test_batch_of_1000_all_or_nothing_idempotent_and_conflicting(
    client: TestClient, accounts: Accounts, settings: Settings, cadre: dict[str, str]
) -> None:
    households = register_households(settings, accounts, 250)
    items = quarterly_items(households)
    assert len(items) == 1000
    reports_before, audit_before = counts()
    assert reports_before == 0

    # One bad item (a negative amount) among 1,000: 422 naming that item, nothing written.
    bad = copy.deepcopy(items)
    bad[637]["income"]["wages"] = "-1"
    response = client.post(BATCH, json={"reports": bad}, headers=cadre)
    assert response.status_code == 422, response.text
    body = response.json()
    assert {"code", "message", "field"} <= body.keys()
    assert body["field"] == "reports[637].income.wages"
    assert fields(body) == ["reports[637].income.wages"]
    assert counts() == (0, audit_before)

    # One bad item the service finds (its event after its period): the same, all or nothing.
    bad = copy.deepcopy(items)
    bad[998]["events"] = [{"kind": "illness", "occurred_on": "2026-01-05", "loss": "10"}]
    response = client.post(BATCH, json={"reports": bad}, headers=cadre)
    assert response.status_code == 422, response.text
    assert fields(response.json()) == ["reports[998].events[0].occurred_on"]
    assert counts() == (0, audit_before)

    # Corrected: 201, 1,000 written, answered in item order.
    first = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert first.status_code == 201, first.text[:2000]
    assert first.headers["X-Reports-Created"] == "1000"
    answer = first.json()["items"]
    assert len(answer) == 1000
    assert [a["client_ref"] for a in answer] == [i["client_ref"] for i in items]
    assert [a["household_id"] for a in answer] == [i["household_id"] for i in items]
    assert len({a["id"] for a in answer}) == 1000
    reports_after, audit_after = counts()
    assert reports_after == 1000
    assert audit_after == audit_before + 1000  # one audit entry per stored report
    # The 4th quarter of the first household uses all four of its quarters.
    q4 = answer[3]
    assert q4["income_basis"]["report_ids"] == sorted(a["id"] for a in answer[:4])
    hid = households[0][0]
    net = 4 * (1000 + hid + 500 + 250.50 - 100)
    assert q4["per_capita_net_income"] == f"{net:.2f}"

    # Sent again: 200, nothing written, the same answer.
    again = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert again.status_code == 200, again.text[:2000]
    assert again.headers["X-Reports-Created"] == "0"
    assert again.json() == first.json()
    assert counts() == (reports_after, audit_after)

    # One item changed under the same client_ref: 409 naming that item's client_ref, nothing written.
    changed = copy.deepcopy(items)
    changed[321]["income"]["transfer"] = "999.99"
    response = client.post(BATCH, json={"reports": changed}, headers=cadre)
    assert response.status_code == 409, response.text[:2000]
    body = response.json()
    assert body["field"] == "reports[321].client_ref"
    assert fields(body) == ["reports[321].client_ref"]
    assert counts() == (reports_after, audit_after)
    listed = client.get(f"{HOUSEHOLDS}/{changed[321]['household_id']}/reports", headers=cadre).json()
    assert "999.99" not in {r["income"]["transfer"] for r in listed["items"]}


def test_resend_with_amounts_written_differently_is_the_same_report(
    client: TestClient, cadre: dict[str, str]
) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    item = {**report_body("q1", *QUARTERS[0], wages="1000"), "household_id": household["id"]}
    first = client.post(BATCH, json={"reports": [item]}, headers=cadre)
    assert first.status_code == 201, first.text
    item["income"]["wages"] = 1000.00
    again = client.post(BATCH, json={"reports": [item]}, headers=cadre)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()


def test_resend_plus_new_items_writes_only_the_new(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    items = [
        {**report_body(f"q{q}", s, e), "household_id": household["id"]}
        for q, (s, e) in enumerate(QUARTERS, start=1)
    ]
    first = client.post(BATCH, json={"reports": items[:2]}, headers=cadre)
    assert first.status_code == 201
    second = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert second.status_code == 201, second.text
    assert second.headers["X-Reports-Created"] == "2"
    assert [r["id"] for r in second.json()["items"][:2]] == [r["id"] for r in first.json()["items"]]
    assert counts()[0] == 4


# --- households by number, and who may write --------------------------------------------------------


def test_a_report_is_identified_by_the_same_content_hash_as_reports_stored_before() -> None:
    """Resending a report stored earlier must find it: its content's hash is taken over the same JSON as
    it always was (the report's fields in schema order, amounts to the cent, without the household the
    batch item names), whichever way the code makes that JSON."""
    item = BatchReportItem.model_validate(
        {
            "household_no": "T-1",
            "client_ref": "2025q1",
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "income": {
                "wages": "3012.5",
                "business": 2100,
                "property": "0",
                "transfer": "950",
                "production_cost": "420.10",
            },
            "insurance_payout": "12",
            "events": [
                {
                    "kind": "natural_disaster",
                    "disaster_type": "洪涝",
                    "occurred_on": "2025-02-03",
                    "loss": "500",
                }
            ],
            "housing_grade": "C",
            "food_secure": False,
        }
    )
    canonical = (
        '{"client_ref":"2025q1","period_start":"2025-01-01","period_end":"2025-03-31","income":{"wages":"3012.50",'
        '"business":"2100.00","property":"0.00","transfer":"950.00","production_cost":"420.10"},'
        '"insurance_payout":"12.00","spending":{"medical":"0.00","education":"0.00"},"housing_grade":"C",'
        '"drinking_water_safe":null,"food_secure":false,"clothing_secure":null,"events":[{"kind":"natural_disaster",'
        '"disaster_type":"洪涝","occurred_on":"2025-02-03","loss":"500.00"}],"supersedes":null}'
    )
    assert body_hash(item) == hashlib.sha256(canonical.encode()).hexdigest()
    assert body_hash(item) == "cb3472b85607f5166a55062c59a5489fa3bafdfc24e441168e8503006b70a064"


def test_batch_items_by_household_no(client: TestClient, cadre: dict[str, str]) -> None:
    one = new_household(client, cadre, village=VILLAGE_A)
    two = new_household(client, cadre, village=VILLAGE_A)
    items = [
        {**report_body("a-q1", *QUARTERS[0]), "household_no": one["household_no"]},
        {**report_body("b-q1", *QUARTERS[0]), "household_no": two["household_no"]},
        {**report_body("a-q2", *QUARTERS[1]), "household_id": one["id"]},
    ]
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert response.status_code == 201, response.text
    assert [r["household_id"] for r in response.json()["items"]] == [one["id"], two["id"], one["id"]]
    listed = client.get(f"{HOUSEHOLDS}/{one['id']}/reports", headers=cadre).json()
    assert sorted(r["client_ref"] for r in listed["items"]) == ["a-q1", "a-q2"]
    # The same report named by number and then by id is the same report: a replay.
    again = [{**report_body("a-q1", *QUARTERS[0]), "household_id": one["id"]}]
    replay = client.post(BATCH, json={"reports": again}, headers=cadre)
    assert replay.status_code == 200, replay.text
    assert replay.json()["items"][0]["id"] == response.json()["items"][0]["id"]


def test_batch_item_household_unknown_or_ambiguous(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    items = [
        {**report_body("ok", *QUARTERS[0]), "household_id": household["id"]},
        {**report_body("x1", *QUARTERS[0]), "household_no": "NO-SUCH-HOUSEHOLD"},
        report_body("x2", *QUARTERS[0]),
        {
            **report_body("x3", *QUARTERS[0]),
            "household_id": household["id"],
            "household_no": household["household_no"],
        },
    ]
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert 400 <= response.status_code < 500, response.text
    assert set(fields(response.json())) >= {
        "reports[1].household_no",
        "reports[2].household_id",
        "reports[3].household_id",
    }
    assert counts()[0] == 0


# --- several errors, size cap, overlaps ---------------------------------------------------------------


def test_several_bad_items_all_reported_at_once(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    items = [
        {**report_body(f"r{i}", "2024-01-01", "2024-01-31"), "household_id": household["id"]}
        for i in range(6)
    ]
    for i, item in enumerate(items):  # consecutive months, so only the planted problems remain
        month = i + 1
        item["period_start"] = f"2024-{month:02d}-01"
        item["period_end"] = (date(2024, month + 1, 1) - timedelta(days=1)).isoformat()
    items[1]["income"]["wages"] = "-5"
    items[3]["income"]["business"] = "1.234"
    items[4]["period_end"] = (local_today() + timedelta(days=400)).isoformat()
    items[5]["colour"] = "red"
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert response.status_code == 422, response.text
    assert set(fields(response.json())) >= {
        "reports[1].income.wages",
        "reports[3].income.business",
        "reports[4].period_end",
        "reports[5].colour",
    }
    assert counts()[0] == 0


def test_several_conflicting_items_all_reported_at_once(client: TestClient, cadre: dict[str, str]) -> None:
    """Errors only the service can find (stored data) are also all listed, not just the first."""
    household = new_household(client, cadre, village=VILLAGE_A)
    hid = household["id"]
    stored = client.post(
        BATCH, json={"reports": [{**report_body("old", *QUARTERS[0]), "household_id": hid}]}, headers=cadre
    )
    assert stored.status_code == 201
    items = [
        {**report_body("fine", *QUARTERS[3]), "household_id": hid},
        {**report_body("overlaps-stored", "2025-03-01", "2025-04-30"), "household_id": hid},
        {**report_body("old", *QUARTERS[0], wages="1"), "household_id": hid},
        {
            **report_body(
                "late-event", *QUARTERS[2], events=[{"kind": "job_loss", "occurred_on": "2025-10-02"}]
            ),
            "household_id": hid,
        },
    ]
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert 400 <= response.status_code < 500, response.text
    assert set(fields(response.json())) >= {"reports[2].client_ref", "reports[3].events[0].occurred_on"}
    assert any(f in fields(response.json()) for f in ("reports[1].period_start", "reports[1].period_end"))
    assert counts()[0] == 1


def test_1001_items_refused(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    start = date(2023, 1, 1)
    items = [
        {
            **report_body(
                f"d{i}", (start + timedelta(days=i)).isoformat(), (start + timedelta(days=i)).isoformat()
            ),
            "household_id": household["id"],
        }
        for i in range(1001)
    ]
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert response.status_code == 422, response.text[:500]
    assert response.json()["field"] == "reports"
    assert counts()[0] == 0


def test_empty_batch_refused(client: TestClient, cadre: dict[str, str]) -> None:
    response = client.post(BATCH, json={"reports": []}, headers=cadre)
    assert response.status_code == 422
    assert response.json()["field"] == "reports"


def test_items_overlapping_each_other_conflict(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    hid = household["id"]
    items = [
        {**report_body("a", "2025-01-01", "2025-06-30"), "household_id": hid},
        {**report_body("b", "2025-06-30", "2025-09-30"), "household_id": hid},
    ]
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert response.status_code == 409, response.text
    assert response.json()["field"] in ("reports[1].period_start", "reports[1].period_end")
    assert counts()[0] == 0
    # The same periods in two different households do not overlap.
    other = new_household(client, cadre, village=VILLAGE_A)
    items[1]["household_id"] = other["id"]
    assert client.post(BATCH, json={"reports": items}, headers=cadre).status_code == 201


def test_same_client_ref_twice_in_one_batch(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    item = {**report_body("dup", *QUARTERS[0]), "household_id": household["id"]}
    changed = copy.deepcopy(item)
    changed["income"]["wages"] = "1"
    response = client.post(BATCH, json={"reports": [item, changed]}, headers=cadre)
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "reports[1].client_ref"
    assert counts()[0] == 0
    # The identical item twice is one report.
    response = client.post(BATCH, json={"reports": [item, item]}, headers=cadre)
    assert response.status_code == 201, response.text
    ids = [r["id"] for r in response.json()["items"]]
    assert ids[0] == ids[1]
    assert counts()[0] == 1


# --- corrections --------------------------------------------------------------------------------------


def test_superseding_keeps_and_marks_the_old_report(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    hid = household["id"]
    url = f"{HOUSEHOLDS}/{hid}/reports"
    original = client.post(
        url, json=report_body("y2025", "2025-01-01", "2025-12-31", wages="3000"), headers=cadre
    )
    assert original.status_code == 201
    old = original.json()

    # An overlap without supersedes is refused.
    response = client.post(
        BATCH,
        json={
            "reports": [
                {**report_body("y2025-fix", "2025-01-01", "2025-12-31", wages="6000"), "household_id": hid}
            ]
        },
        headers=cadre,
    )
    assert response.status_code == 409, response.text
    assert response.json()["field"] in ("reports[0].period_start", "reports[0].period_end")
    assert counts()[0] == 1

    # With supersedes it is accepted.
    response = client.post(
        BATCH,
        json={
            "reports": [
                {
                    **report_body(
                        "y2025-fix", "2025-01-01", "2025-12-31", wages="6000", supersedes=old["id"]
                    ),
                    "household_id": hid,
                }
            ]
        },
        headers=cadre,
    )
    assert response.status_code == 201, response.text
    new = response.json()["items"][0]
    assert new["supersedes"] == old["id"]
    assert new["superseded_by"] is None
    # 6000 + 2000 + 100 + 900 − 500 = 8500 over 3 people.
    assert new["per_capita_net_income"] == "2833.33"
    assert new["income_basis"]["report_ids"] == [new["id"]]

    listed = client.get(url, headers=cadre).json()
    assert listed["total"] == 2
    by_id = {r["id"]: r for r in listed["items"]}
    kept = by_id[old["id"]]
    assert kept["superseded_by"] == new["id"]
    # Never edited: apart from the mark, the old report reads as it did.
    assert {k: v for k, v in kept.items() if k != "superseded_by"} == {
        k: v for k, v in old.items() if k != "superseded_by"
    }
    assert kept["income"]["wages"] == "3000.00"

    # Superseding the same report again is refused, and so is an overlap with the correction.
    response = client.post(
        BATCH,
        json={
            "reports": [
                {
                    **report_body(
                        "y2025-fix2", "2025-01-01", "2025-12-31", wages="7000", supersedes=old["id"]
                    ),
                    "household_id": hid,
                }
            ]
        },
        headers=cadre,
    )
    assert response.status_code == 409, response.text
    assert "reports[0].supersedes" in fields(response.json())
    response = client.post(url, json=report_body("y2025-fix3", "2025-06-01", "2025-12-31"), headers=cadre)
    assert response.status_code == 409, response.text
    assert counts()[0] == 2

    # The correction itself can be corrected.
    response = client.post(
        url,
        json=report_body("y2025-fix4", "2025-01-01", "2025-12-31", wages="4000", supersedes=new["id"]),
        headers=cadre,
    )
    assert response.status_code == 201, response.text
    listed = {r["id"]: r for r in client.get(url, headers=cadre).json()["items"]}
    assert listed[new["id"]]["superseded_by"] == response.json()["id"]
    assert listed[old["id"]]["superseded_by"] == new["id"]


def test_superseded_report_left_out_of_later_income(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A)
    hid = household["id"]
    url = f"{HOUSEHOLDS}/{hid}/reports"
    h1 = client.post(
        url, json=report_body("h1", "2025-01-01", "2025-06-30", wages="3000"), headers=cadre
    ).json()
    fix = client.post(
        url,
        json=report_body("h1-fix", "2025-01-01", "2025-06-30", wages="9000", supersedes=h1["id"]),
        headers=cadre,
    )
    assert fix.status_code == 201, fix.text
    h2 = client.post(url, json=report_body("h2", "2025-07-01", "2025-12-31", wages="3000"), headers=cadre)
    assert h2.status_code == 201, h2.text
    basis = h2.json()["income_basis"]
    assert basis["report_ids"] == sorted([fix.json()["id"], h2.json()["id"]])
    # (9000+2000+100+900−500) + (3000+2000+100+900−500) = 11500 + 5500 = 17000 over 3 people.
    assert h2.json()["per_capita_net_income"] == "5666.67"


def test_supersedes_and_replay_in_one_batch(client: TestClient, cadre: dict[str, str]) -> None:
    """A correction sent in a batch and re-sent is a replay, not a second supersede."""
    household = new_household(client, cadre, village=VILLAGE_A)
    hid = household["id"]
    old = client.post(
        f"{HOUSEHOLDS}/{hid}/reports", json=report_body("q1", *QUARTERS[0]), headers=cadre
    ).json()
    batch = {
        "reports": [
            {**report_body("q1-fix", *QUARTERS[0], wages="10", supersedes=old["id"]), "household_id": hid}
        ]
    }
    first = client.post(BATCH, json=batch, headers=cadre)
    assert first.status_code == 201, first.text
    again = client.post(BATCH, json=batch, headers=cadre)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert counts()[0] == 2


def test_schema_errors_and_conflicts_are_reported_together(client: TestClient, accounts: Accounts) -> None:
    """A phone offline for a week learns every problem of its batch from one answer."""
    household = new_household(client, accounts["cadre_a"])
    first = client.post(
        f"/api/v1/households/{household['id']}/reports",
        json=report_body("q1", "2025-01-01", "2025-03-31"),
        headers=accounts["cadre_a"],
    )
    assert first.status_code == 201
    bad_amount = {
        **report_body("q2", "2025-04-01", "2025-06-30", wages="-1"),
        "household_id": household["id"],
    }
    changed = {**report_body("q1", "2025-01-01", "2025-03-31", wages="1"), "household_id": household["id"]}
    overlapping = {**report_body("q3", "2025-03-01", "2025-08-31"), "household_id": household["id"]}
    response = client.post(
        "/api/v1/reports/batch",
        json={"reports": [bad_amount, changed, overlapping]},
        headers=accounts["cadre_a"],
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"reports[0].income.wages", "reports[1].client_ref", "reports[2].period_start"}


def test_control_characters_in_an_item_are_refused_naming_the_item(
    client: TestClient, cadre: dict[str, str]
) -> None:
    """The body's own text walk skips the items (each is checked as it is validated): what it would
    have caught is still refused, named by item, and nothing is stored."""
    household = new_household(client, cadre, village=VILLAGE_A)
    fine = {**report_body("q1", *QUARTERS[0]), "household_id": household["id"]}
    bad_ref = {**report_body("q2\x00", *QUARTERS[1]), "household_id": household["id"]}
    bad_key = {**report_body("q3", *QUARTERS[2]), "household_id": household["id"], "no\x07te": "x"}
    bad_number = {**report_body("q4", *QUARTERS[3]), "household_no": "HT\u2028001"}
    response = client.post(BATCH, json={"reports": [fine, bad_ref, bad_key, bad_number]}, headers=cadre)
    assert response.status_code == 422, response.text
    assert set(fields(response.json())) == {
        "reports[1].client_ref",
        "reports[2].no\x07te",
        "reports[3].household_no",
    }
    assert counts()[0] == 0
