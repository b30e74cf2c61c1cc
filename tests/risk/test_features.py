"""The rules' features read from stored reports and members agree with what the API shows a cadre."""

from datetime import date, timedelta
from typing import Any

import numpy as np
import time_machine
from fastapi.testclient import TestClient

from app import db
from app.clock import local_today, now
from app.risk import features, panel_read
from app.risk import model as ml
from app.risk import panel as pn
from app.risk.rules import EVENT_KINDS, evaluate
from app.schemas.policy import PolicyData
from tests.fixtures import Accounts, household_body, member_body, new_household, report_body

POLICY = PolicyData()
# the members' health, labour and schooling held since before the periods these tests read
KNOWN_SINCE: dict[str, Any] = {"effective_on": "2020-01-01"}
QUARTERS_2025 = [
    ("2025-01-01", "2025-03-31"),
    ("2025-04-01", "2025-06-30"),
    ("2025-07-01", "2025-09-30"),
    ("2025-10-01", "2025-12-31"),
]


def submit(
    client: TestClient, headers: dict[str, str], household_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(f"/api/v1/households/{household_id}/reports", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def frame_for(household_id: int, as_of: date = date(2026, 1, 15)) -> dict[str, float]:
    with db.session_scope() as session:
        frame = features.build(session, POLICY, as_of, [household_id])
    return {name: float(values[0]) for name, values in frame.columns.items()}


def test_income_features_match_the_reports_api(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    last: dict[str, Any] = {}
    for i, (start, end) in enumerate(QUARTERS_2025):
        last = submit(
            client,
            cadre,
            household["id"],
            report_body(
                f"q{i}", start, end, wages="1000", business="500", prop="0", transfer="300", cost="100"
            ),
        )
    row = frame_for(household["id"])
    assert row["income_pc"] == float(last["per_capita_net_income"])
    assert row["size"] == 3
    assert row["line"] == 8700
    assert row["income_total"] == float(last["income_basis"]["net_income"])
    [reasons] = evaluate({k: np.array([v]) for k, v in row.items()}, POLICY)
    assert "income_below_line" in {r.code for r in reasons}


def test_same_quarter_a_year_earlier_feeds_the_sharp_drop_rule(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    for i, (start, end) in enumerate([("2024-01-01", "2024-12-31")]):
        submit(
            client,
            cadre,
            household["id"],
            report_body(f"y{i}", start, end, wages="60000", business="0", prop="0", transfer="0", cost="0"),
        )
    submit(
        client,
        cadre,
        household["id"],
        report_body(
            "y2025", "2025-01-01", "2025-12-31", wages="30000", business="0", prop="0", transfer="0", cost="0"
        ),
    )
    row = frame_for(household["id"])
    assert row["income_pc_prev"] == 20000
    assert row["income_pc"] == 10000
    [reasons] = evaluate({k: np.array([v]) for k, v in row.items()}, POLICY)
    assert "sharp_income_drop" in {r.code for r in reasons}


def test_flags_come_from_the_latest_report_and_the_members(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    child = member_body(
        "之子",
        birth=date(2015, 6, 1),
        schooling="辍学",
        dropout_reason="因经济困难",
        labour_capacity="无劳动力",
        basic_medical_insurance=False,
        **KNOWN_SINCE,
    )
    body = household_body(
        members=[
            member_body("户主", birth=date(1975, 1, 1), labour_capacity="丧失劳动力", **KNOWN_SINCE),
            child,
        ]
    )
    household = client.post("/api/v1/households", json=body, headers=cadre).json()
    submit(
        client,
        cadre,
        household["id"],
        report_body("a", "2025-01-01", "2025-06-30", housing_grade="A", drinking_water_safe=True),
    )
    submit(
        client,
        cadre,
        household["id"],
        report_body(
            "b", "2025-07-01", "2025-12-31", housing_grade="D", drinking_water_safe=False, food_secure=True
        ),
    )
    row = frame_for(household["id"])
    assert row["housing_unsafe"] == 1
    assert row["water_unsafe"] == 1
    assert row["food_clothing_insecure"] == 0
    assert row["dropout_compulsory"] == 1
    assert row["uninsured_member"] == 1
    assert row["labour_share"] == 0
    [reasons] = evaluate({k: np.array([v]) for k, v in row.items()}, POLICY)
    assert {
        "housing_unsafe",
        "water_unsafe",
        "compulsory_dropout",
        "no_medical_insurance",
        "lack_of_labour",
    } <= {r.code for r in reasons}


def test_events_of_superseded_reports_and_later_reports_are_ignored(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    flood = {"kind": "natural_disaster", "disaster_type": "洪涝", "occurred_on": "2025-05-10", "loss": "9000"}
    first = submit(
        client, cadre, household["id"], report_body("h1", "2025-01-01", "2025-06-30", events=[flood])
    )
    row = frame_for(household["id"])
    assert row["event_loss"] == 9000
    assert row["event_kind"] == EVENT_KINDS.index("natural_disaster")
    correction = report_body("h1-fix", "2025-01-01", "2025-06-30") | {"supersedes": first["id"]}
    submit(client, cadre, household["id"], correction)
    assert frame_for(household["id"])["event_loss"] == 0
    assert np.isnan(frame_for(household["id"], as_of=date(2024, 12, 31))["income_pc"])


def test_household_without_reports_has_no_income_but_member_features(
    client: TestClient, accounts: Accounts
) -> None:
    members = [member_body("户主", birth=date(1970, 3, 1), **KNOWN_SINCE)]
    household = new_household(client, accounts["cadre_a"], members=members)
    row = frame_for(household["id"])
    assert np.isnan(row["income_pc"])
    assert row["labour_share"] == 1.0
    [reasons] = evaluate({k: np.array([v]) for k, v in row.items()}, POLICY)
    assert [r.code for r in reasons] == ["stale_report"]  # no report is not "no risk": someone must visit
    assert reasons[0].level == "medium"
    assert np.isnan(row["months_since_report"])


def test_labour_share_counts_every_active_member(client: TestClient, accounts: Accounts) -> None:
    """One worker among four people is 25 %, even if the others' capacity was not recorded."""
    unknown = {"labour_capacity": None}
    members = [member_body("户主", birth=date(1970, 1, 1), **KNOWN_SINCE)] + [
        member_body(relation, birth=date(1990 + i, 1, 1)) | unknown
        for i, relation in enumerate(("配偶", "之子", "之女"))
    ]
    members[1]["sex"], members[3]["sex"] = "女", "女"
    household = client.post(
        "/api/v1/households", json=household_body(members=members), headers=accounts["cadre_a"]
    ).json()
    assert frame_for(household["id"])["labour_share"] == 0.25


def test_an_illness_reaches_only_the_periods_after_it_began(client: TestClient, accounts: Accounts) -> None:
    """Issue 15, acceptance 4: the head's serious illness, recorded with its date (1 Jul 2024), is not in
    the features of any period ending before it, so the model is not trained on it there; it is in the
    later periods' and in today's scoring. The spouse's chronic illness, recorded today without a date,
    is in no past period."""
    cadre = accounts["cadre_a"]
    head = member_body("户主", birth=date(1975, 1, 1), health="健康", **KNOWN_SINCE)
    spouse = member_body("配偶", male=False, birth=date(1977, 2, 2), health="长期慢性病")
    household = new_household(client, cadre, members=[head, spouse])
    for year in (2023, 2024, 2025):
        for q, (start, end) in enumerate(QUARTERS_2025):
            submit(
                client,
                cadre,
                household["id"],
                report_body(f"{year}q{q}", f"{year}{start[4:]}", f"{year}{end[4:]}", wages="2500"),
            )
    member = household["members"][0]
    illness = {"version": member["version"], "health": "患有大病", "effective_on": "2024-07-01"}
    response = client.patch(
        f"/api/v1/households/{household['id']}/members/{member['id']}", json=illness, headers=cadre
    )
    assert response.status_code == 200, response.text
    onset = date(2024, 7, 1).toordinal()

    with db.session_scope() as session:
        panel = panel_read.load(session, household_ids=[household["id"]])  # as training reads it
        ends = panel.reports["end"]
        periods = features.model_columns(panel, POLICY, np.arange(len(ends)), ends)
        dataset = ml.build_dataset(panel, POLICY)
        today = panel_read.load(session, as_of=local_today(), household_ids=[household["id"]])
        rows = features.latest_rows(today)
        scoring = features.model_columns(today, POLICY, rows, np.full(1, local_today().toordinal()))
    assert len(ends) == 12
    assert periods["serious"].tolist() == [0.0 if end < onset else 1.0 for end in ends]
    assert periods["chronic"].tolist() == [0.0] * 12
    assert periods["size"].tolist() == [2.0] * 12  # a member's spells count once
    serious = features.MODEL_FEATURE_NAMES.index("serious")
    assert len(dataset.period) == 8  # the periods whose next 12 months are on record
    assert dataset.X[:, serious].tolist() == [0.0 if end < onset else 1.0 for end in dataset.period]
    assert (scoring["serious"][0], scoring["chronic"][0]) == (1.0, 1.0)


def test_facts_as_recorded_at_a_moment_leave_out_later_changes(
    client: TestClient, accounts: Accounts, clock: time_machine.Traveller
) -> None:
    """An illness recorded a minute later, dated back to 2024, is in the record as it stands but not in
    the record as it stood a minute before (what a verifier's decision then was taken on)."""
    cadre = accounts["cadre_a"]
    household = new_household(
        client, cadre, members=[member_body("户主", birth=date(1975, 1, 1), health="健康", **KNOWN_SINCE)]
    )
    moment = now()
    clock.shift(timedelta(minutes=1))
    member = household["members"][0]
    illness = {"version": member["version"], "health": "患有大病", "effective_on": "2024-07-01"}
    path = f"/api/v1/households/{household['id']}/members/{member['id']}"
    assert client.patch(path, json=illness, headers=cadre).status_code == 200
    with db.session_scope() as session:
        stands = panel_read.load(session, household_ids=[household["id"]])
        stood = panel_read.load(session, household_ids=[household["id"]], facts_known_at=moment)
    on = np.array([date(2025, 1, 1).toordinal()])
    household_row = np.zeros(1, dtype=np.int64)
    assert pn.member_values(stands, household_row, on)["serious"].tolist() == [1.0]
    assert pn.member_values(stood, household_row, on)["serious"].tolist() == [0.0]
    assert pn.member_values(stood, household_row, on)["size"].tolist() == [1.0]
