"""A member's health, labour capacity, disability, schooling, 低保 and 特困 are dated facts: a change through
the API closes the fact held before and opens the new one from its effective date (today unless given),
the member's fields keep showing today's values, and a date in the future, before the birth date, or a
value out of the vocabulary is refused naming the field."""

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.clock import local_today
from app.models import Member, MemberFact
from app.services.registry.member_facts import DATED_FIELDS, as_text
from tests.fixtures import Accounts, household_body, member_body, new_household

API = "/api/v1/households"
BIRTH = date(1970, 3, 1)


def registered(client: TestClient, cadre: dict[str, str], **head: Any) -> tuple[int, dict[str, Any]]:
    """A one-person household registered today; the head's health 健康 held since 2020 unless given."""
    body = member_body("户主", birth=BIRTH, health="健康", effective_on="2020-01-01") | head
    household = new_household(client, cadre, members=[body])
    return household["id"], household["members"][0]


def change(
    client: TestClient, cadre: dict[str, str], household_id: int, member: dict[str, Any], **fields: Any
) -> Any:
    return client.patch(
        f"{API}/{household_id}/members/{member['id']}",
        json={"version": member["version"]} | fields,
        headers=cadre,
    )


def facts(client: TestClient, headers: dict[str, str], household_id: int, member_id: int) -> list[Any]:
    response = client.get(f"{API}/{household_id}/members/{member_id}/facts", headers=headers)
    assert response.status_code == 200, response.text
    result: list[Any] = response.json()
    return result


def spans(rows: list[Any], fact: str, *, superseded: bool = False) -> list[tuple[Any, str, str | None]]:
    """The fact's (value, from, to) as the record stands, or those superseded by later changes."""
    return [
        (r["value"], r["valid_from"], r["valid_to"])
        for r in rows
        if r["fact"] == fact and (r["superseded_at"] is not None) == superseded
    ]


class TestAChangeIsDated:
    def test_an_illness_from_its_effective_date_closes_the_health_held_before(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre)
        response = change(client, cadre, household_id, head, health="患有大病", effective_on="2025-03-01")
        assert response.status_code == 200, response.text
        assert response.json()["health"] == "患有大病"  # the member shows today's value
        rows = facts(client, cadre, household_id, head["id"])
        assert spans(rows, "health") == [
            ("健康", "2020-01-01", "2025-03-01"),
            ("患有大病", "2025-03-01", None),
        ]
        assert spans(rows, "health", superseded=True) == [("健康", "2020-01-01", None)]  # as recorded before
        assert spans(rows, "labour_capacity") == [("普通劳动力", "2020-01-01", None)]  # untouched
        assert {r["recorded_by"] for r in rows if r["valid_from"] == "2025-03-01"} == {"cadre_a"}
        history = client.get(f"{API}/{household_id}/history", headers=cadre).json()["items"]
        update = next(e for e in history if e["action"] == "member.update")
        assert update["changes"]["health"] == {"before": "***", "after": "***"}
        assert update["changes"]["effective_on"] == {"before": None, "after": "2025-03-01"}

    def test_without_a_date_the_change_holds_from_today(self, client: TestClient, accounts: Accounts) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre)
        assert change(client, cadre, household_id, head, dibao=True).status_code == 200
        today = local_today().isoformat()
        assert spans(facts(client, cadre, household_id, head["id"]), "dibao") == [(True, today, None)]

    def test_a_new_members_facts_hold_from_today_unless_dated(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        cadre = accounts["cadre_a"]
        household_id, _ = registered(client, cadre)
        spouse = member_body("配偶", male=False, birth=date(1972, 8, 9), health="长期慢性病")
        added = client.post(f"{API}/{household_id}/members", json=spouse, headers=cadre)
        assert added.status_code == 201, added.text
        rows = facts(client, cadre, household_id, added.json()["id"])
        today = local_today().isoformat()
        assert sorted(spans(rows, "health") + spans(rows, "labour_capacity")) == [
            ("普通劳动力", today, None),
            ("长期慢性病", today, None),
        ]

    def test_a_date_before_the_recorded_start_supersedes_what_was_recorded(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        """Registered today as chronically ill, then the cadre learns it began in 2023: the fact recorded
        from today is superseded (kept as recorded) and the same value holds from 2023; the version moves."""
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre, health="长期慢性病", effective_on=None)
        today = local_today().isoformat()
        response = change(client, cadre, household_id, head, health="长期慢性病", effective_on="2023-05-01")
        assert response.status_code == 200, response.text
        assert response.json()["version"] == head["version"] + 1
        rows = facts(client, cadre, household_id, head["id"])
        assert spans(rows, "health") == [("长期慢性病", "2023-05-01", None)]
        assert spans(rows, "health", superseded=True) == [("长期慢性病", today, None)]
        again = change(client, cadre, household_id, response.json(), health="长期慢性病")
        assert again.json()["version"] == head["version"] + 1  # the same value, no earlier date: no change

    def test_a_grade_cleared_with_its_health_is_closed_without_a_successor(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre, health="残疾", disability_grade=2)
        response = change(
            client, cadre, household_id, head, health="健康", disability_grade=None, effective_on="2024-06-01"
        )
        assert response.status_code == 200, response.text
        rows = facts(client, cadre, household_id, head["id"])
        assert spans(rows, "disability_grade") == [(2, "2020-01-01", "2024-06-01")]
        assert spans(rows, "health") == [("残疾", "2020-01-01", "2024-06-01"), ("健康", "2024-06-01", None)]

    def test_the_members_fields_are_the_facts_that_hold_now(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre)
        for fields in (
            {"health": "长期慢性病", "effective_on": "2022-01-01"},
            {"schooling": "不适用", "labour_capacity": "丧失劳动力", "tekun": True},
            {"health": "患有大病", "effective_on": "2021-06-01"},  # before the previous change
        ):
            head = change(client, cadre, household_id, head, **fields).json()
        with db.session_scope() as session:
            member = session.get(Member, head["id"])
            assert member is not None
            open_facts = session.execute(
                select(MemberFact.fact, MemberFact.value).where(
                    MemberFact.member_id == member.id,
                    MemberFact.valid_to.is_(None),
                    MemberFact.superseded_at.is_(None),
                )
            ).all()
            columns = {name: getattr(member, name) for name in DATED_FIELDS}
        assert {str(fact): value for fact, value in open_facts} == {
            name: as_text(v) for name, v in columns.items() if v is not None
        }
        assert columns["health"] == "患有大病"


class TestRefusals:
    def test_a_future_date_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre)
        response = change(client, cadre, household_id, head, health="患有大病", effective_on="2099-01-01")
        assert (response.status_code, response.json()["field"]) == (422, "effective_on")

    def test_a_date_before_the_birth_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre)
        response = change(client, cadre, household_id, head, health="患有大病", effective_on="1969-12-31")
        assert (response.status_code, response.json()["field"]) == (422, "effective_on")
        spouse = member_body("配偶", male=False, birth=date(1972, 8, 9), effective_on="1972-08-08")
        added = client.post(f"{API}/{household_id}/members", json=spouse, headers=cadre)
        assert (added.status_code, added.json()["field"]) == (422, "effective_on")
        body = household_body(members=[member_body("户主", birth=BIRTH, effective_on="1960-01-01")])
        registration = client.post(API, json=body, headers=cadre)
        assert (registration.status_code, registration.json()["field"]) == (422, "members[0].effective_on")
        unchanged = facts(client, cadre, household_id, head["id"])
        assert spans(unchanged, "health") == [("健康", "2020-01-01", None)]

    def test_a_value_out_of_the_vocabulary_is_refused(self, client: TestClient, accounts: Accounts) -> None:
        cadre = accounts["cadre_a"]
        household_id, head = registered(client, cadre)
        response = change(client, cadre, household_id, head, health="很好", effective_on="2025-01-01")
        assert (response.status_code, response.json()["field"]) == (422, "health")
        bad_date = change(client, cadre, household_id, head, health="患有大病", effective_on="2025-13-01")
        assert (bad_date.status_code, bad_date.json()["field"]) == (422, "effective_on")

    def test_facts_are_read_only_where_the_household_is_visible(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        household_id, head = registered(client, accounts["cadre_a"])
        other = client.get(f"{API}/{household_id}/members/{head['id']}/facts", headers=accounts["cadre_b"])
        assert other.status_code == 404
        department = facts(client, accounts["department"], household_id, head["id"])
        assert {r["fact"] for r in department} == {"labour_capacity"}  # no health without a signal
        elsewhere = client.get(f"{API}/{household_id}/members/999999/facts", headers=accounts["cadre_a"])
        assert (elsewhere.status_code, elsewhere.json()["field"]) == (404, "member_id")
