"""The champion: the learned model is installed only when no simpler scorer is as good on the folds.
A district where the distance to the line is truly the best scorer runs on it and says so; a district
of a few hundred households with six annual reports trains without a cold-start refusal; a learned
scorer that is better with confidence wins; a champion that would replace one that can no longer be
loaded waits for an admin."""

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from app import bulk, db
from app.clock import local_today
from app.config import Settings
from app.demo import district as demo
from app.models import Base, Household, Member, Report, ReportEvent, RiskModel, TrainingRequest
from app.models.base import utcnow
from app.risk import champion as ch
from app.risk import evaluation as ev
from app.risk import features as ft
from app.risk import model as ml
from app.risk import scorer, training
from app.services.lists import risk_list_generation
from app.services.platform.access import Actor
from app.services.scoring import model_admin
from tests.fixtures import Accounts

LINES = {2021: 6000, 2022: 7000, 2023: 8050, 2024: 8400, 2025: 8700, 2026: 8700}  # the default policy's


def annual_district(settings: Settings, *, households: int = 400, seed: int = 5) -> None:
    """`households` households with six annual reports (Dec–Nov, 2021–2026) whose per-capita income
    walks at random around the line: next year depends on this year's income alone, so ranking by the
    distance to the line is the best any scorer can do."""
    with db.session_scope() as session:
        demo.generate(session, settings, households=households, seed=seed, quarter_count=4)
        session.execute(delete(ReportEvent))
        session.execute(delete(Report))
        ids = list(session.scalars(select(Household.id).order_by(Household.id)))
        counted = session.execute(select(Member.household_id, func.count()).group_by(Member.household_id))
        sizes: dict[int, int] = {int(hid): int(count) for hid, count in counted}
        rng = np.random.default_rng(seed)
        ratio = np.exp(rng.normal(np.log(1.3), 0.35, len(ids)))
        now, rows = utcnow(), []
        for year in sorted(LINES):
            for k, hid in enumerate(ids):
                income = Decimal(str(round(float(ratio[k]) * LINES[year] * sizes[hid], 2)))
                rows.append(_report(hid, year, income, now))
            ratio = ratio * np.exp(rng.normal(0, 0.25, len(ids)))
        bulk.insert_rows(session, Base.metadata.tables["report"], rows)


def _report(hid: int, year: int, wages: Decimal, now: Any) -> dict[str, Any]:
    zero = Decimal(0)
    return {
        "household_id": hid,
        "client_ref": f"walk-{year}",
        "body_hash": "0" * 64,
        "period_start": date(year - 1, 12, 1),
        "period_end": date(year, 11, 30),
        "wages": wages,
        "business": zero,
        "property": zero,
        "transfer": zero,
        "production_cost": zero,
        "insurance_payout": zero,
        "spending_medical": zero,
        "spending_education": zero,
        "housing_grade": "A",
        "drinking_water_safe": True,
        "food_secure": True,
        "clothing_secure": True,
        "created_at": now,
        "updated_at": now,
    }


def test_where_the_distance_to_the_line_is_best_it_is_champion_and_everyone_is_told(
    settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    annual_district(settings)
    outcome = training.train(db.get_sessionmaker(), settings, triggered_by="test")
    stored = outcome.model
    assert (stored.status, stored.champion) == ("active", "distance_to_line")
    assert "no learned scorer beats it with confidence" in stored.decision
    with db.session_scope() as session:  # the learned model is not the one in use
        assert session.scalars(select(RiskModel.champion).where(RiskModel.status == "active")).all() == [
            "distance_to_line"
        ]
    folds = stored.evaluation["folds"]
    assert folds["folds"] >= 2  # six annual reports: enough for rolling-origin folds
    for name in ("model", "logistic_regression", "rules"):  # nobody beats it beyond doubt
        assert not ev.confidently_better(folds, name, "distance_to_line")

    run = scorer.score_all(db.get_sessionmaker(), settings, as_of=local_today(), triggered_by="test")
    assert (run.mode, run.champion, run.model_version) == ("baseline", "distance_to_line", str(stored.id))

    body = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert (body["mode"], body["reason_code"], body["champion"]) == (
        "baseline",
        "baseline",
        "distance_to_line",
    )
    assert body["champion_label"] == "离监测线距离"
    assert body["current"]["folds"]["scorers"]["distance_to_line"]["recall"]["low"] is not None
    served = body["current"]["folds"]["differences"]  # what the choice rests on, for anyone to check
    assert set(served) == {f"{a}-{b}" for a in ch.SIMPLICITY for b in ch.SIMPLICITY if a != b}
    assert all(served[f"{name}-distance_to_line"]["low"] <= 0 for name in ("model", "logistic_regression"))

    week = "{}-W{:02d}".format(*local_today().isocalendar()[:2])
    with db.session_scope() as session:
        risk_list_generation.generate(session, settings, Actor.system("test"), week)
    summary = client.get(f"/api/v1/risk-lists/{week}/summary", headers=accounts["district"]).json()
    assert summary["scored_by"]["champion"] == "distance_to_line"
    assert summary["scored_by"]["mode"] == "baseline"
    assert summary["scored_by"]["run_id"] == run.id


def test_a_district_of_400_households_and_six_annual_reports_trains_with_intervals(
    settings: Settings,
) -> None:
    annual_district(settings, seed=9)
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model  # no ColdStart
    assert stored.evaluation["capacity"] == "small"
    for figures in stored.evaluation["folds"]["scorers"].values():
        recall = figures["recall"]
        assert recall["low"] < recall["value"] < recall["high"]  # an interval that says how sure it is
    champion = stored.evaluation["folds"]["scorers"][stored.champion]["recall"]
    for name, figures in stored.evaluation["folds"]["scorers"].items():
        # the champion is at least as good as every other scorer, within the folds' interval
        assert champion["high"] >= figures["recall"]["value"], name


def _synthetic(signal: str, n: int = 3000, periods: int = 6, seed: int = 1) -> ml.Dataset:
    """Examples whose fall depends on the line ratio alone, or mostly on the count of seriously ill
    members (which the distance to the line cannot see)."""
    rng = np.random.default_rng(seed)
    X = np.full((n * periods, len(ft.MODEL_FEATURE_NAMES)), np.nan)
    line = rng.lognormal(np.log(1.3), 0.35, n * periods)
    serious = rng.integers(0, 3, n * periods).astype(float)
    X[:, ft.MODEL_FEATURE_NAMES.index("line_ratio")] = line
    X[:, ft.MODEL_FEATURE_NAMES.index("income_pc")] = line * 8000
    X[:, ft.MODEL_FEATURE_NAMES.index("serious")] = serious
    noise = rng.normal(0, 0.15, n * periods)
    risk = -np.log(line) + noise if signal == "line" else 1.2 * serious - 0.3 * np.log(line) + noise
    y = risk > np.quantile(risk, 0.8)
    days = np.repeat(date(2020, 11, 30).toordinal() + 365 * np.arange(periods), n)
    return ml.Dataset(
        X, y, days, days + 365, np.zeros(n * periods, dtype=np.int64), ["t"], np.zeros(n * periods)
    )


def test_a_learned_scorer_wins_only_when_it_is_better_with_confidence() -> None:
    plain = _synthetic("line")
    assert ch.contest(plain, 0.10, ch.folds(plain)).champion == "distance_to_line"
    ill = _synthetic("illness")
    won = ch.contest(ill, 0.10, ch.folds(ill))
    assert won.champion in ml.LEARNED
    assert ev.confidently_better(won.comparison, won.champion, "distance_to_line")


def test_ties_go_to_the_simpler_scorer() -> None:
    comparison = {
        "budget": 0.1,
        "folds": 3,
        "scorers": {
            name: {"recall": {"value": value, "low": value - 0.05, "high": value + 0.05}}
            for name, value in (
                ("model", 0.72),
                ("logistic_regression", 0.70),
                ("distance_to_line", 0.69),
                ("rules", 0.5),
            )
        },
        "differences": {
            f"{a}-{b}": {
                "value": 0.0,
                "low": -0.01 if "rules" not in (a, b) else (0.1 if b == "rules" else -0.3),
                "high": 0.03,
            }
            for a in ("model", "logistic_regression", "distance_to_line", "rules")
            for b in ("model", "logistic_regression", "distance_to_line", "rules")
            if a != b
        },
    }
    name, why = ch.choose(comparison)
    assert name == "distance_to_line"
    assert "model (0.720)" in why
    assert "not better with confidence" in why


def test_a_champion_replacing_one_that_cannot_be_loaded_waits_for_an_admin(
    settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    annual_district(settings, households=300, seed=11)
    first = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    with db.session_scope() as session:  # as after a scikit-learn upgrade: its artifact no longer loads
        session.execute(update(RiskModel).where(RiskModel.id == first.id).values(signature="0" * 64))
    second = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    assert second.status == "pending"
    assert "awaits an admin's confirmation" in second.decision
    assert "recorded recall" in second.decision
    run = scorer.score_all(db.get_sessionmaker(), settings, as_of=local_today(), triggered_by="test")
    assert run.mode == "rules"  # not silently replaced: rules alone until someone confirms
    status = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert status["reason_code"] == "unusable"
    assert status["pending"]["id"] == second.id

    url = f"/api/v1/risk/models/{second.id}/confirm"
    assert client.post(url, headers=accounts["district"]).status_code == 403
    assert (
        client.post(f"/api/v1/risk/models/{first.id}/confirm", headers=accounts["admin"]).status_code == 409
    )
    confirmed = client.post(url, headers=accounts["admin"])
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["confirmed_by"]) == ("active", "admin")
    assert client.post(url, headers=accounts["admin"]).status_code == 409  # once
    with db.session_scope() as session:
        assert session.get(RiskModel, first.id).status == "retired"  # type: ignore[union-attr]
    run = scorer.score_all(db.get_sessionmaker(), settings, as_of=local_today(), triggered_by="test")
    assert run.model_version == str(second.id)


def test_an_admin_asks_for_a_training_and_the_worker_does_it(
    settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    assert client.post("/api/v1/risk/model/training", headers=accounts["district"]).status_code == 403
    asked = client.post("/api/v1/risk/model/training", headers=accounts["admin"])
    assert asked.status_code == 202
    again = client.post("/api/v1/risk/model/training", headers=accounts["admin"])
    assert again.json()["id"] == asked.json()["id"]  # an open request is not duplicated
    assert model_admin.run_requested(db.get_sessionmaker(), settings).status == "done"  # type: ignore[union-attr]
    cold = client.get(f"/api/v1/risk/model/training/{asked.json()['id']}", headers=accounts["admin"]).json()
    assert cold["status"] == "done"
    assert cold["outcome"].startswith("cold start")

    annual_district(settings, households=300, seed=13)
    request_id = client.post("/api/v1/risk/model/training", headers=accounts["admin"]).json()["id"]
    assert request_id != asked.json()["id"]
    assert model_admin.run_requested(db.get_sessionmaker(), settings) is not None
    assert model_admin.run_requested(db.get_sessionmaker(), settings) is None  # a second worker finds none
    done = client.get(f"/api/v1/risk/model/training/{request_id}", headers=accounts["admin"]).json()
    assert done["status"] == "done"
    assert done["model_id"]
    assert done["outcome"].startswith("active")
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(TrainingRequest)) == 2
    assert client.get("/api/v1/risk/model/training/999", headers=accounts["admin"]).status_code == 404


def test_cold_start_is_counted_in_periods_and_positives(settings: Settings) -> None:
    annual_district(settings, households=300, seed=17)
    with db.session_scope() as session:
        session.execute(delete(Report).where(Report.period_end < date(2024, 1, 1)))  # three years left
    with pytest.raises(ml.ColdStart, match="periods"):
        training.train(db.get_sessionmaker(), settings, triggered_by="test")


def test_after_a_library_upgrade_the_worker_retrains_and_an_admin_confirms(
    settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    """Retrain-and-compare: a champion pickled by another scikit-learn is never unpickled into this one;
    the nightly run falls back to the rules and asks for a training at once; the new champion, compared
    with the old one's recorded figures, waits for an admin."""
    import pickle

    from app.worker import jobs

    annual_district(settings, households=300, seed=19)
    first = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    with db.session_scope() as session:  # as written by the scikit-learn of before the upgrade
        row = session.get(RiskModel, first.id)
        assert row is not None
        artifact = pickle.loads(row.artifact)
        artifact.sklearn_version = "1.0.2"
        blob = ml.dump(artifact)
        row.artifact, row.sha256 = blob, ml.digest(blob)
        row.signature = ml.sign(blob, training.signing_key(settings))
    jobs.nightly_scoring()
    jobs.nightly_scoring()  # twice: still one request
    with db.session_scope() as session:
        requests = session.scalars(select(TrainingRequest)).all()
        assert [r.requested_by for r in requests] == ["system:unusable_champion"]
    jobs.requested_training()
    with db.session_scope() as session:
        pending = session.scalars(select(RiskModel).where(RiskModel.status == "pending")).one()
        assert "scikit-learn 1.0.2" in pending.decision
        assert "recorded recall" in pending.decision
    jobs.nightly_scoring()  # a champion awaits confirmation: no new request
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(TrainingRequest)) == 1
    confirmed = client.post(f"/api/v1/risk/models/{pending.id}/confirm", headers=accounts["admin"])
    assert confirmed.status_code == 200, confirmed.text
    run = scorer.score_all(db.get_sessionmaker(), settings, as_of=local_today(), triggered_by="test")
    assert (run.model_version, run.mode) == (
        str(pending.id),
        "baseline" if pending.champion not in ml.LEARNED else "model",
    )


def test_the_intervals_draw_households_not_rows_for_a_household_shares_its_future_across_folds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A household's rows in three folds share one outcome: drawing rows one by one would count three
    independent witnesses where there is one, and the interval would claim more certainty than the
    district's 300 households give."""
    monkeypatch.setattr(ev, "BOOTSTRAP", 200)  # the service's count: 30 resamples are too rough here
    rng = np.random.default_rng(3)
    households, folds = 300, 3
    latent = rng.normal(0, 1, households)
    falls = latent + rng.normal(0, 0.8, households) > 1.0  # one future per household
    household = np.tile(np.arange(households), folds)
    fold = np.repeat(np.arange(folds), households)
    score = latent[household] + rng.normal(0, 0.3, households * folds)

    def width(by_household: bool) -> float:
        scores = ev.FoldScores(
            y=falls[household],
            fold=fold,
            township=np.zeros(households * folds, dtype=np.int64),
            townships=["t"],
            scores={"model": score, "rules": -score},
            household=household if by_household else None,
        )
        recall = ev.compare(scores, 0.10)["scorers"]["model"]["recall"]
        return float(recall["high"]) - float(recall["low"])

    assert width(True) > 1.3 * width(False)
