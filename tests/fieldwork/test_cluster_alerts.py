"""Cluster alerts: a burst of new signals in one village raises one alert (not one per household), told to the
township and district with the households and the dominant reason, on the weekly summary too; a second
burst in the same window does not repeat it."""

from fastapi.testclient import TestClient

from app import db
from app.clock import local_today
from app.config import Settings
from app.schemas.policy import PolicyData
from app.services.cases import cases
from app.services.fieldwork import alerts
from app.services.lists import risk_lists
from app.services.platform.access import Actor
from app.worker import jobs
from tests.fixtures import CADRE_OF, VILLAGE_A, VILLAGE_B, VILLAGE_C, Accounts, new_household

ALERTS = "/api/v1/cluster-alerts"


def burst(
    client: TestClient, accounts: Accounts, settings: Settings, village: str, count: int, risk_type: str
) -> list[int]:
    ids = [
        int(new_household(client, accounts[CADRE_OF[village]], village=village)["id"]) for _ in range(count)
    ]
    reason = {"code": "cadre_report", "text": "基层干部排查：洪水", "risk_type": risk_type}
    with db.session_scope() as session:
        cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(h, "cadre_report", "high", [reason]) for h in ids],
        )
    return ids


def test_a_burst_in_one_village_raises_one_alert_and_a_second_burst_does_not_repeat_it(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    for reader in ("township_1", "township_2", "district"):
        accounts.create(reader)  # accounts that exist when the alert is raised
    flooded = burst(client, accounts, settings, VILLAGE_A, 5, "因自然灾害")
    burst(client, accounts, settings, VILLAGE_B, 2, "因病")  # below the village threshold (5)
    burst(client, accounts, settings, VILLAGE_C, 4, "因病")
    jobs.cluster_alerts()
    jobs.cluster_alerts()  # the hourly job runs again: nothing new
    listed = client.get(ALERTS, headers=accounts["township_1"]).json()
    assert listed["total"] == 1
    [alert] = listed["items"]
    assert (alert["level"], alert["region_code"], alert["region_name"]) == ("village", VILLAGE_A, "洛河村")
    assert sorted(alert["households"]) == sorted(flooded)
    assert (alert["dominant_reason"], alert["signals"]) == ("因自然灾害", 5)
    assert client.get(ALERTS, headers=accounts["district"]).json()["total"] == 1
    assert client.get(ALERTS, headers=accounts["township_2"]).json()["total"] == 0  # another township's
    assert client.get(ALERTS, headers=accounts["cadre_a"]).status_code == 403
    # told to the township's reviewers and the district's officers, in their notifications, once
    for reader, told in (("township_1", 1), ("district", 1), ("township_2", 0), ("cadre_a", 0)):
        notes = client.get("/api/v1/notifications", headers=accounts[reader]).json()["items"]
        alerts_told = [n for n in notes if n["kind"] == "cluster_alert"]
        assert len(alerts_told) == told, reader
        for note in alerts_told:
            assert (note["alert_id"], note["case_id"]) == (alert["id"], None)
            assert note["text"].startswith("洛河村（村）")
            assert "5 户出现新的风险信号，主要原因：因自然灾害" in note["text"]

    burst(client, accounts, settings, VILLAGE_A, 6, "因病")  # the same window: no second alert
    with db.session_scope() as session:
        assert alerts.detect(session, PolicyData(), local_today()) == []
    assert client.get(ALERTS, headers=accounts["district"]).json()["total"] == 1

    week = risk_lists.week_of(local_today())
    assert client.post(f"/api/v1/risk-lists/{week}", headers=accounts["admin"]).status_code in (200, 201)
    summary = client.get(f"/api/v1/risk-lists/{week}/summary", headers=accounts["district"]).json()
    assert [(a["region_name"], a["households"], a["dominant_reason"]) for a in summary["cluster_alerts"]] == [
        ("洛河村", 5, "因自然灾害")
    ]


def test_the_township_threshold_counts_its_villages_together(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    policy = PolicyData(cluster_village_signals=10, cluster_township_signals=6)
    burst(client, accounts, settings, VILLAGE_A, 3, "因病")
    burst(client, accounts, settings, VILLAGE_B, 3, "因病")
    with db.session_scope() as session:
        raised = alerts.detect(session, policy, local_today())
        assert [(a.level, len(a.households)) for a in raised] == [("township", 6)]


def test_a_scoring_run_flagging_many_households_at_once_is_not_a_cluster(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    ids = [int(new_household(client, accounts["cadre_a"])["id"]) for _ in range(8)]
    reason = {"code": "income_below_line", "text": "人均纯收入低于监测线", "risk_type": "其他"}
    with db.session_scope() as session:  # the first run after go-live, or a raised monitoring line
        opened = cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("risk_scorer"),
            [cases.SignalIn(h, "risk_scorer", "high", [reason], "risk_run:1") for h in ids],
        )
        assert {s.outcome for s in opened} == {"opened"}
        assert alerts.detect(session, PolicyData(), local_today()) == []
