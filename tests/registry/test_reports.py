"""Reports: a correction covers the period it replaces, two overlapping reports sent at once store
one, and amounts are stored as sent (−0 is 0)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import db
from app.models import Report
from tests.fixtures import Accounts, new_household, race, report_body


def test_a_correction_must_cover_the_period_it_replaces(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    url = f"/api/v1/households/{household['id']}/reports"
    q1 = client.post(
        url, json=report_body("q1", "2024-01-01", "2024-03-31"), headers=accounts["cadre_a"]
    ).json()
    sneaky = report_body("q3", "2024-07-01", "2024-09-30") | {"supersedes": q1["id"]}
    response = client.post(url, json=sneaky, headers=accounts["cadre_a"])
    assert response.status_code == 422
    assert response.json()["field"] == "supersedes"
    listed = client.get(url, headers=accounts["cadre_a"]).json()["items"]
    assert [r["superseded_by"] for r in listed] == [None]


def test_overlapping_periods_sent_at_once_store_one(
    app: FastAPI, client: TestClient, accounts: Accounts
) -> None:
    household = new_household(client, accounts["cadre_a"])
    url = f"/api/v1/households/{household['id']}/reports"
    headers = accounts["cadre_a"]
    answers = race(
        app,
        [
            lambda c: c.post(url, json=report_body("a", "2025-01-01", "2025-03-31"), headers=headers),
            lambda c: c.post(url, json=report_body("b", "2025-02-01", "2025-04-30"), headers=headers),
        ],
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_negative_zero_is_stored_and_answered_as_zero(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    url = f"/api/v1/households/{household['id']}/reports"
    first = client.post(
        url, json=report_body("z", "2025-01-01", "2025-03-31", prop="-0"), headers=accounts["cadre_a"]
    )
    assert first.status_code == 201
    assert first.json()["income"]["property"] == "0.00"
    again = client.post(
        url, json=report_body("z", "2025-01-01", "2025-03-31", prop="0"), headers=accounts["cadre_a"]
    )
    assert again.status_code == 200
    assert again.json() == first.json()
