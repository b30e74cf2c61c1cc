"""Verifier decisions become labelled examples: one per decided case, holding what was on record when
the case opened, and read back by training as arrays."""

from datetime import date, timedelta

import numpy as np
import time_machine
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from app import db
from app.cli import main
from app.clock import local_date, local_today
from app.config import Settings
from app.models import Case, LabelledExample, PolicyVersion, Report, RiskResult, RiskRun
from app.models.base import utcnow
from app.risk import features, labels, panel_read
from app.risk import model as ml
from app.schemas.policy import PolicyData
from app.services.cases import cases
from tests.fixtures import (
    DECISIONS,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_C,
    Accounts,
    case_action,
    decide_case,
    new_household,
    report_body,
)


def days_pass(clock: time_machine.Traveller, accounts: Accounts, days: int) -> None:
    clock.shift(timedelta(days=days))
    accounts.log_in_again()


def household(client: TestClient, accounts: Accounts, village: str = VILLAGE_A) -> int:
    """A 脱贫户 of three at 7,000 a head over 2025."""
    cadre = accounts["cadre_c" if village == VILLAGE_C else "cadre_a"]
    hid = int(new_household(client, cadre, village=village)["id"])
    body = report_body(
        "2025", "2025-01-01", "2025-12-31", wages="21000", business="0", prop="0", transfer="0", cost="0"
    )
    assert client.post(f"/api/v1/households/{hid}/reports", json=body, headers=cadre).status_code == 201
    return hid


def flag(settings: Settings, hid: int, score: float = 0.64) -> int:
    """A completed model run that flags the household high; its case opens from the run. Returns the
    case's id."""
    with db.session_scope() as session:
        run = RiskRun(
            status="completed",
            as_of=local_today(),
            mode="model",
            policy_version=1,
            model_version="3",
            champion="model",
            triggered_by="test",
            finished_at=utcnow(),
        )
        session.add(run)
        session.flush()
        reasons = [{"code": "income_below_line", "risk_type": "其他", "level": "high", "text": "…"}]
        session.add(
            RiskResult(
                run_id=run.id,
                household_id=hid,
                level="high",
                score=score,
                reasons=reasons,
                reason_codes="|income_below_line|",
            )
        )
        run_id = run.id
    assert cases.open_for_run(db.get_sessionmaker(), settings, run_id) == {"opened": 1}
    with db.session_scope() as session:
        return int(
            session.scalars(select(Case.id).where(Case.household_id == hid, Case.status == "open")).one()
        )


def examples(case_id: int) -> list[LabelledExample]:
    with db.session_scope() as session:
        found = list(session.scalars(select(LabelledExample).where(LabelledExample.case_id == case_id)))
        session.expunge_all()
        return found


def features_now(hid: int) -> dict[str, float | None]:
    """The model's features of the household as the scorer reads them today (computed here, before the
    verification adds anything)."""
    with db.session_scope() as session:
        policy = PolicyData.model_validate(session.get(PolicyVersion, 1).data)  # type: ignore[union-attr]
        panel = panel_read.load(session, as_of=local_today(), household_ids=[hid])
        rows = features.latest_rows(panel)
        X = ml.matrix(features.model_columns(panel, policy, rows, np.full(1, local_today().toordinal())))
    return {
        n: (float(v) if np.isfinite(v) else None)
        for n, v in zip(features.MODEL_FEATURE_NAMES, X[0], strict=True)
    }


def test_the_example_holds_the_features_on_record_when_the_case_opened(
    client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller
) -> None:
    hid = household(client, accounts)
    case_id = flag(settings, hid)
    expected, signal_on = features_now(hid), local_today()
    # the next day the village visits and files what it found, for a period that ended before the signal
    days_pass(clock, accounts, days=1)
    visit = report_body(
        "visit", "2026-01-01", "2026-06-30", wages="90000", business="0", prop="0", transfer="0", cost="0"
    )
    verify = {
        "action": "verify",
        "visited_on": local_today().isoformat(),
        "visitors": ["李文"],
        "findings": "收入属实",
        "consent_signed": True,
        "report": visit,
    }
    assert case_action(client, accounts["cadre_a"], case_id, **verify).status_code == 200
    # six weeks on, a report for a period ending after the signal; then the review, notice and decision
    days_pass(clock, accounts, days=42)
    later = report_body(
        "2026h2", "2026-07-01", "2026-12-31", wages="3000", business="0", prop="0", transfer="0", cost="0"
    )
    reported = client.post(f"/api/v1/households/{hid}/reports", json=later, headers=accounts["cadre_a"])
    assert reported.status_code == 201, reported.text
    today = local_today().isoformat()
    review = {"action": "review", "held_on": today, "outcome": "agreed", "attendees": 9}
    assert case_action(client, accounts["cadre_a"], case_id, **review).status_code == 200
    notice = {"action": "notice", "starts_on": today, "objections": ""}
    assert case_action(client, accounts["cadre_a"], case_id, **notice).status_code == 200
    with db.session_scope() as session:
        session.get(Case, case_id).notice_ends_on = local_today()  # type: ignore[union-attr]
    assert case_action(client, accounts["township_1"], case_id, action="approve").status_code == 200
    confirmed = case_action(client, accounts["district"], case_id, **DECISIONS["confirmed"])
    assert confirmed.json()["outcome"] == "confirmed", confirmed.text

    [example] = examples(case_id)
    assert example.features == expected
    assert example.features["income_pc"] == 7000.0  # 2025's report, not the visit's or the later one
    assert example.features["months_since_report"] == 11.0  # 31 Dec 2025 to the signal's day
    assert example.features_exact is True
    assert (example.signal_on, example.decided_on) == (signal_on, local_today())
    assert (example.outcome, example.decided_step, example.case_source) == (
        "confirmed",
        "district_decision",
        "risk_scorer",
    )
    assert (example.level, example.rules_level, example.score, example.model_level) == (
        "high",
        "high",
        0.64,
        "high",
    )
    assert (example.model_version, example.champion, example.township_code) == ("3", "model", TOWNSHIP_1)


def test_a_correction_filed_after_the_signal_is_left_out_and_the_example_says_so(
    client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller
) -> None:
    hid = household(client, accounts)
    with db.session_scope() as session:
        original = session.scalars(select(Report.id).where(Report.household_id == hid)).one()
    case_id = flag(settings, hid)
    days_pass(clock, accounts, days=1)
    correction = report_body(
        "2025-corrected",
        "2025-01-01",
        "2025-12-31",
        wages="90000",
        business="0",
        prop="0",
        transfer="0",
        cost="0",
        supersedes=original,
    )
    reported = client.post(f"/api/v1/households/{hid}/reports", json=correction, headers=accounts["cadre_a"])
    assert reported.status_code == 201, reported.text
    decide_case(client, accounts, case_id, "rejected")
    [example] = examples(case_id)
    assert example.features["income_pc"] is None  # never the corrected 30,000 a head
    assert example.features_exact is False


def test_a_case_returned_to_the_village_and_decided_again_gives_one_example(
    client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller
) -> None:
    hid = household(client, accounts)
    case_id = flag(settings, hid)
    with db.session_scope() as session:
        opened = session.get(Case, case_id).opened_at  # type: ignore[union-attr]
    days_pass(clock, accounts, days=3)
    cadre, today = accounts["cadre_a"], local_today().isoformat()
    verify = {"visited_on": today, "visitors": ["王华"], "findings": "属实", "consent_signed": True}
    case_action(client, cadre, case_id, action="verify", **verify)
    case_action(client, cadre, case_id, action="review", held_on=today, outcome="agreed", attendees=9)
    case_action(client, cadre, case_id, action="notice", starts_on=today, objections="")
    returned = case_action(client, accounts["township_1"], case_id, action="return", reason="人口未核实")
    assert returned.json()["step"] == "village_verification", returned.text
    assert examples(case_id) == []  # returned is not decided
    decide_case(client, accounts, case_id, "confirmed")
    [example] = examples(case_id)
    assert (example.outcome, example.signal_at, example.signal_on) == (
        "confirmed",
        opened,
        local_date(opened),
    )


def test_a_withdrawal_is_no_label_and_a_household_refused_then_flagged_again_keeps_both_decisions(
    client: TestClient, accounts: Accounts, settings: Settings, clock: time_machine.Traveller
) -> None:
    withdrawn = flag(settings, household(client, accounts))
    decide_case(client, accounts, withdrawn, "withdrawn")
    assert examples(withdrawn) == []

    hid = household(client, accounts)
    first = flag(settings, hid, score=0.55)
    decide_case(client, accounts, first, "rejected")
    days_pass(clock, accounts, days=60)  # past the policy's suppression after a rejection
    second = flag(settings, hid, score=0.81)
    assert second != first
    decide_case(client, accounts, second, "confirmed")
    [refused], [confirmed] = examples(first), examples(second)
    assert (refused.outcome, refused.score) == ("rejected", 0.55)
    assert (confirmed.outcome, confirmed.score) == ("confirmed", 0.81)
    assert confirmed.signal_on == refused.signal_on + timedelta(days=60)


def test_training_reads_the_examples_as_arrays_in_the_models_feature_order(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    near, far = household(client, accounts, VILLAGE_A), household(client, accounts, VILLAGE_C)
    confirmed = flag(settings, near)
    decide_case(client, accounts, confirmed, "confirmed")
    refused = flag(settings, far)
    # the village's democratic review disagrees: refused at the village, a decision all the same
    cadre, today = accounts["cadre_c"], local_today().isoformat()
    verify = {"visited_on": today, "visitors": ["王华"], "findings": "收入高于线", "consent_signed": True}
    case_action(client, cadre, refused, action="verify", **verify)
    ended = case_action(
        client, cadre, refused, action="review", held_on=today, outcome="disagreed", attendees=9
    )
    assert ended.json()["outcome"] == "rejected"
    assert examples(refused)[0].decided_step == "democratic_review"

    with db.session_scope() as session:
        loaded = labels.load_examples(session, townships=[TOWNSHIP_2, TOWNSHIP_1, "530402999000"])
        assert labels.load_examples(session, decided_by=date(2026, 12, 1)).X.shape == (
            0,
            len(features.MODEL_FEATURE_NAMES),
        )
    assert loaded.X.shape == (2, len(features.MODEL_FEATURE_NAMES))
    order = {hid: i for i, hid in enumerate(loaded.household_ids.tolist())}
    income = loaded.X[:, features.MODEL_FEATURE_NAMES.index("income_pc")]
    assert income.tolist() == [7000.0, 7000.0]
    assert (bool(loaded.y[order[near]]), bool(loaded.y[order[far]])) == (True, False)
    assert (loaded.township[order[near]], loaded.township[order[far]]) == (1, 0)
    assert set(loaded.day.tolist()) == {local_today().toordinal()}
    assert loaded.case_ids[order[far]] == refused
    assert loaded.exact.all()


def test_cases_decided_before_examples_were_kept_get_theirs_from_the_cli(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    case_id = flag(settings, household(client, accounts))
    decide_case(client, accounts, case_id, "rejected")
    [kept] = examples(case_id)
    with db.session_scope() as session:
        session.execute(delete(LabelledExample))  # as a case decided before this version left it
    first = CliRunner().invoke(main, ["risk", "labels"])
    assert (first.exit_code, first.output.strip()) == (0, "1 labelled examples added"), first.output
    [again] = examples(case_id)
    assert (again.outcome, again.features, again.signal_at, again.run_id) == (
        kept.outcome,
        kept.features,
        kept.signal_at,
        kept.run_id,
    )
    assert CliRunner().invoke(main, ["risk", "labels"]).output.strip() == "0 labelled examples added"
