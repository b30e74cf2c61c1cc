"""The early-warning model: trained on the district's history, judged on rolling-origin folds against
three baselines, stored and verified, installed only if not worse, used by scoring with explanations.
(Which scorer becomes champion is tests/risk/test_champion.py's; here a test that needs the learned
model in use says so with the `model_champion` fixture.)"""

import pickle

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app import db
from app.cli import main
from app.clock import local_today
from app.config import Settings, get_settings
from app.demo import district as demo
from app.models import RiskModel, RiskResult
from app.risk import champion as ch
from app.risk import evaluation as ev
from app.risk import features as ft
from app.risk import model as ml
from app.risk import scorer, training
from tests.fixtures import Accounts

runner = CliRunner()
HOUSEHOLDS = 1500


@pytest.fixture
def district(settings: Settings) -> None:
    """A generated district: 1,500 households with 3 years of quarterly reports."""
    with db.session_scope() as session:
        demo.generate(session, settings, households=HOUSEHOLDS, seed=21, quarter_count=12)


@pytest.fixture
def model_champion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learned model wins whatever the folds say (for tests of what scoring does with it)."""
    monkeypatch.setattr(ch, "choose", lambda _: ("model", "the model (chosen by the test)"))


def test_train_prints_the_model_against_three_baselines_and_installs_it(district: None) -> None:
    result = runner.invoke(main, ["risk", "train"])
    assert result.exit_code == 0, result.output
    assert ": active — first champion" in result.output
    for scorer_name in ("| model |", "| rules |", "| distance_to_line |", "| logistic_regression |"):
        assert scorer_name in result.output
    with db.session_scope() as session:
        stored = session.scalars(select(RiskModel)).one()
        assert stored.status == "active"
        assert stored.train_from < stored.train_to <= stored.test_period
        assert stored.examples_test == HOUSEHOLDS
        assert stored.positives_test > 0
        assert ml.digest(stored.artifact) == stored.sha256


def test_the_model_api_serves_metrics_with_intervals(
    district: None, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    cold = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert (cold["mode"], cold["reason_code"]) == ("rules", "cold_start")
    assert "cold start" in cold["reason"]
    assert cold["current"] is None
    training.train(db.get_sessionmaker(), settings, triggered_by="test")
    body = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert body["mode"] == body["reason_code"] == ("model" if body["champion"] in ml.LEARNED else "baseline")
    current = body["current"]
    assert current["champion"] == body["champion"]
    folds = current["folds"]
    assert folds["budget"] == 0.1
    assert folds["folds"] == len(folds["periods"]) == 3
    for name in ("model", "logistic_regression", "distance_to_line", "rules"):
        recall = folds["scorers"][name]["recall"]
        assert recall["low"] <= recall["value"] <= recall["high"]
        assert len(folds["scorers"][name]["by_fold"]) == 3
        assert all(t["recall"]["low"] <= t["recall"]["high"] for t in folds["scorers"][name]["by_township"])
    for name in (
        "roc_auc",
        "pr_auc",
        "brier",
        "recall_at_5",
        "precision_at_5",
        "recall_at_10",
        "precision_at_10",
    ):
        metric = current["metrics"][name]
        assert metric["low"] <= metric["value"] <= metric["high"]
    assert set(current["baselines"]) == {"rules", "distance_to_line", "logistic_regression"}
    assert current["baselines"]["rules"]["brier"] is None  # a level is not a probability
    townships = current["recall_at_10_by_township"]
    assert townships
    assert all(t["township"].endswith("000") for t in townships)
    assert client.get("/api/v1/risk/model", headers=accounts["cadre_a"]).status_code == 403


def test_cold_start_scores_on_rules_and_says_so(settings: Settings) -> None:
    with db.session_scope() as session:
        demo.generate(session, settings, households=30, seed=3, quarter_count=4)
    result = runner.invoke(main, ["risk", "train"])
    assert result.exit_code == 4
    assert "not enough history" in result.output
    assert "rules alone" in result.output
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    assert (run.mode, run.model_version) == ("rules", None)


def test_scoring_uses_the_model_and_explains_in_words(
    district: None, settings: Settings, model_champion: None
) -> None:
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    assert (run.mode, run.model_version) == ("model", str(stored.id))
    with db.session_scope() as session:
        results = list(session.scalars(select(RiskResult).where(RiskResult.run_id == run.id)))
    assert all(r.score is not None and 0 <= r.score <= 1 for r in results)
    flagged = [r for r in results if r.level != "low"]
    assert flagged
    for r in flagged:  # every flagged household: reasons naming a feature and its value
        assert r.reasons
        assert all(reason["feature"] and reason["text"] for reason in r.reasons)
    warned = [r for r in flagged if "|model_warning|" in r.reason_codes]
    assert warned
    for r in warned:
        assert r.factors, "a model warning comes with its factors"
        for f in r.factors:
            assert f["feature"]
            assert f["effect"] > 0
            assert f["text"]
        reason = next(x for x in r.reasons if x["code"] == "model_warning")
        assert "概率" in reason["text"]
        assert r.factors[0]["text"] in reason["text"]


def test_a_worse_champion_does_not_replace_the_current_one(
    district: None, settings: Settings, monkeypatch: pytest.MonkeyPatch, model_champion: None
) -> None:
    first = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    # a champion the folds show worse with confidence than the one in use (as a faulty choice would be)
    monkeypatch.setattr(ch, "choose", lambda _: ("rules", "the rules (chosen by the test)"))
    worse = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    assert worse.status == "rejected"
    assert "worse with confidence" in worse.decision
    with db.session_scope() as session:
        assert training.active_model(session).id == first.id  # type: ignore[union-attr]
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    assert run.model_version == str(first.id)


def test_the_same_champion_refitted_replaces_the_current_one(district: None, settings: Settings) -> None:
    first = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    second = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    assert second.status == "active"
    assert "not worse" in second.decision
    with db.session_scope() as session:
        assert session.get(RiskModel, first.id).status == "retired"  # type: ignore[union-attr]


def test_the_installed_champion_learns_from_the_newest_labelled_period(
    district: None, settings: Settings
) -> None:
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    # the newest fold tests on the newest month with a known outcome; the installed fit includes it
    assert stored.train_to == stored.test_period


def test_a_tampered_artifact_is_not_loaded(district: None, settings: Settings) -> None:
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    with db.session_scope() as session:
        blob = bytearray(session.get(RiskModel, stored.id).artifact)  # type: ignore[union-attr]
        blob[len(blob) // 2] ^= 0xFF
        # the hash is recomputed too: only the keyed signature can tell
        session.execute(
            update(RiskModel)
            .where(RiskModel.id == stored.id)
            .values(artifact=bytes(blob), sha256=ml.digest(bytes(blob)))
        )
    with db.session_scope() as session, pytest.raises(ml.ArtifactInvalid):
        training.load_artifact(settings, session.get(RiskModel, stored.id))  # type: ignore[arg-type]
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    assert run.mode == "rules"  # never unpickled: scoring falls back to the rules


def test_the_api_says_when_the_active_model_cannot_be_used(
    district: None, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    with db.session_scope() as session:
        session.execute(update(RiskModel).where(RiskModel.id == stored.id).values(signature="0" * 64))
    body = client.get("/api/v1/risk/model", headers=accounts["district"]).json()
    assert (body["mode"], body["reason_code"]) == ("rules", "unusable")
    assert "cannot be used" in body["reason"]


def test_folds_never_train_on_their_test_month_or_its_future() -> None:
    days = np.repeat(np.arange(1, 9) * 91, 40)
    data = ml.Dataset(
        X=np.zeros((len(days), 1)),
        y=np.arange(len(days)) % 2 == 0,
        period=days,
        label_day=days + 182,  # a six-month horizon
        township=np.zeros(len(days), dtype=np.int64),
        townships=["t"],
        rules_score=np.zeros(len(days)),
    )
    folds = ch.folds(data)
    assert [set(data.period[f.test]) for f in folds] == [{6 * 91}, {7 * 91}, {8 * 91}]  # rolling origin
    for fold in folds:
        assert data.label_day[fold.train].max() <= fold.test_period
        assert data.period[fold.fit].max() < data.period[fold.calibrate].min()


def test_ties_at_the_budget_share_the_remaining_alerts() -> None:
    y = np.array([True, False, True, False, False, False, False, False, False, False])
    level = np.array([1.0, 1.0, 1.0, 1.0, 0, 0, 0, 0, 0, 0])  # four tied at the top, budget of one
    hits, k = ev.budget_hits(y, level, 0.10)
    assert k == 1
    assert hits == pytest.approx(0.5)
    hits, _ = ev.budget_hits(y, np.array([0.9, 0.1, 0.8, 0, 0, 0, 0, 0, 0, 0.0]), 0.20)
    assert hits == 2


def test_explanations_name_the_feature_and_its_value() -> None:
    feature = next(f for f in ft.MODEL_FEATURES if f.name == "transfer_share")
    assert ml.factor(feature, 0.64, 0.2)["text"] == "转移性收入占比 64%"
    ratio = next(f for f in ft.MODEL_FEATURES if f.name == "medical_ratio")
    assert ml.factor(ratio, 1.8, 0.1)["text"] == "医疗自付与收入之比 1.80 倍"


def test_a_feature_never_recorded_does_not_stop_training() -> None:
    rng = np.random.default_rng(0)
    n = 400
    days = np.repeat(np.arange(1, 5) * 91, n // 4)
    X = np.column_stack([rng.normal(size=n), np.full(n, np.nan)])
    y = X[:, 0] + rng.normal(scale=0.5, size=n) > 0.8
    for size in ("small", "large"):
        X_all = np.column_stack([X, np.full((n, len(ft.MODEL_FEATURE_NAMES) - 2), np.nan)])
        wide = ml.Dataset(X_all, y, days, days + 91, np.zeros(n, dtype=np.int64), ["t"], np.zeros(n))
        fitted = ch.fit_model(wide, ch.folds(wide)[-1], size)
        assert ml.probabilities(fitted, X_all).shape == (n,)


def test_scheduled_training_in_cold_start_leaves_scoring_on_rules(settings: Settings) -> None:
    from app.worker import jobs

    jobs.scheduled_training()  # nothing to learn from: logged, not raised
    with db.session_scope() as session:
        assert session.scalars(select(RiskModel)).first() is None


def test_a_large_district_trains_on_a_spread_out_sample(
    district: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "TRAIN_MAX_HOUSEHOLDS", HOUSEHOLDS // 2)
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    assert stored.examples_test == pytest.approx(HOUSEHOLDS / 2, abs=1)


def test_training_examples_never_see_the_hold_out_period(district: None, settings: Settings) -> None:
    from app.risk import panel_read
    from app.services.platform import policy as policy_service

    with db.session_scope() as session:
        _, policy = policy_service.current_data(session)
        data = ml.build_dataset(panel_read.load(session), policy)
    for fold in ch.folds(data):
        assert data.label_day[fold.train].max() <= data.period[fold.test].max()  # outcomes known by then
        assert data.period[fold.fit].max() < data.period[fold.calibrate].min()


def test_a_hold_out_with_nobody_below_the_line_is_a_cold_start() -> None:
    days = np.repeat(np.arange(1, 6) * 91, 100)
    y = np.zeros(len(days), dtype=bool)
    y[: 4 * 100 : 5] = True  # positives in the first four periods, none in the newest
    data = ml.Dataset(
        np.zeros((len(days), 1)), y, days, days + 91, np.zeros(len(days), dtype=np.int64), ["t"], y * 1.0
    )
    with pytest.raises(ml.ColdStart, match="test set"):
        ch.folds(data)


def test_every_scored_household_can_read_its_factors(
    district: None, settings: Settings, client: TestClient, accounts: Accounts, model_champion: None
) -> None:
    training.train(db.get_sessionmaker(), settings, triggered_by="test")
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    with db.session_scope() as session:
        low = session.scalars(
            select(RiskResult).where(
                RiskResult.run_id == run.id, RiskResult.score > 0.05, RiskResult.level == "low"
            )
        ).first()
    assert low is not None
    assert low.factors is None
    body = client.get(f"/api/v1/households/{low.household_id}/risk", headers=accounts["district"]).json()
    assert body["level"] == "low"
    assert body["factors"], "a household at some risk has factors that raise it"
    assert all(f["text"] and f["feature"] for f in body["factors"])


def test_the_default_demo_district_is_enough_to_train() -> None:
    # the contract: 3,000 households with 3 years of quarterly reports meet the default cold-start threshold
    assert runner.invoke(main, ["demo-data"]).exit_code == 0
    result = runner.invoke(main, ["risk", "train"])
    assert result.exit_code == 0, result.output
    assert "active" in result.output


def test_a_model_trained_on_other_features_is_not_used(district: None, settings: Settings) -> None:
    """Columns reach the model by position: one trained before a feature was renamed (report_gap →
    months_since_report) would read the wrong values, so it is refused and scoring uses the rules."""
    stored = training.train(db.get_sessionmaker(), settings, triggered_by="test").model
    with db.session_scope() as session:
        row = session.get(RiskModel, stored.id)
        assert row is not None
        artifact = pickle.loads(row.artifact)
        artifact.features = (*artifact.features[:-1], "report_gap")
        blob = ml.dump(artifact)
        key = training.signing_key(settings)
        row.artifact, row.sha256, row.signature = blob, ml.digest(blob), ml.sign(blob, key)
    with db.session_scope() as session, pytest.raises(ml.ArtifactInvalid, match="other features"):
        training.load_artifact(settings, session.get(RiskModel, stored.id))  # type: ignore[arg-type]
    assert (
        scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test").mode
        == "rules"
    )


def test_training_told_to_stop_ends_between_phases_and_releases_its_lease(
    district: None, settings: Settings
) -> None:
    from app import lifecycle
    from app.models import JobLease

    lifecycle.stopping.set()
    try:
        with pytest.raises(lifecycle.ShuttingDown):
            training.train(db.get_sessionmaker(), settings, triggered_by="test")
    finally:
        lifecycle.stopping.clear()
    with db.session_scope() as session:
        assert session.scalars(select(RiskModel)).all() == []
        assert session.scalar(select(JobLease).where(JobLease.name == training.LEASE)) is None
