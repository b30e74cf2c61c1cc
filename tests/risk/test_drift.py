"""Drift profiles and PSI (app/risk/drift.py): a shift in one township out of ten is flagged there though the
district's figure barely moves; two samples of one population flag nothing; chunks add up to the
whole; flags, counts and missing values are binned so that their changes show."""

import numpy as np
import pytest

from app.risk import drift
from app.risk.features import MODEL_FEATURE_NAMES
from app.risk.panel import FloatArray, IntArray

NAMES = list(MODEL_FEATURE_NAMES)
TOWNSHIPS = [f"5304022{k:02d}000" for k in range(10)]
POLICY = drift.Thresholds(watch=0.1, drift=0.2, min_households=200)
INCOME = ("income_pc", "line_ratio", "latest_quarter_ratio")


def district(
    rng: np.random.Generator, *, halved: int | None = None, per_township: int = 1000
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Ten townships of households: incomes log-normal around 12,000 a head, shares, counts and flags;
    with `halved`, that township's incomes at half."""
    n = len(TOWNSHIPS) * per_township
    township = np.repeat(np.arange(len(TOWNSHIPS)), per_township)
    X = rng.lognormal(-1.5, 0.6, (n, len(NAMES)))
    income = rng.lognormal(np.log(12000), 0.5, n)
    if halved is not None:
        income[township == halved] /= 2
    X[:, NAMES.index("income_pc")] = income
    X[:, NAMES.index("line_ratio")] = income / 8700
    X[:, NAMES.index("latest_quarter_ratio")] = income * rng.lognormal(0, 0.1, n) / 8700
    for name in ("size", "elderly", "children", "event_count"):
        X[:, NAMES.index(name)] = rng.poisson(1.5, n)
    for name in ("housing_unsafe", "water_unsafe", "lifted"):
        X[:, NAMES.index(name)] = rng.random(n) < 0.2
    X[:, NAMES.index("change_1y")][rng.random(n) < 0.1] = np.nan  # no report a year earlier
    X[:, NAMES.index("months_since_report")] = rng.integers(0, 6, n)
    return X, township, rng.beta(1, 6, n)


@pytest.fixture
def reference() -> drift.Profile:
    X, township, score = district(np.random.default_rng(1))
    return drift.profile(drift.reference_cuts(X, score), X, township, TOWNSHIPS, score)


def run(reference: drift.Profile, seed: int, **shift: int) -> drift.Report:
    X, township, score = district(np.random.default_rng(seed), **shift)
    return drift.report(reference, drift.profile(reference.cuts, X, township, TOWNSHIPS, score), POLICY)


def test_incomes_halved_in_one_township_are_flagged_there_not_lost_in_the_district(
    reference: drift.Profile,
) -> None:
    found = run(reference, 2, halved=3)
    shifted = found.townships[3]
    assert shifted.township == TOWNSHIPS[3]
    assert (shifted.status, set(shifted.drifted)) == ("drift", set(INCOME))
    assert all(t.status == "stable" for k, t in enumerate(found.townships) if k != 3)
    # one township in ten: the district's income figure stays under the watch threshold
    district_income = next(v for v in found.district.features if v.name == "income_pc")
    assert district_income.psi is not None
    assert district_income.psi < POLICY.watch
    assert found.district.status == "stable"


def test_a_second_sample_of_the_same_district_flags_nothing(reference: drift.Profile) -> None:
    found = run(reference, 3)
    for scope in (found.district, *found.townships):
        assert scope.status == "stable", scope
        assert scope.drifted == []
        assert max(v.psi or 0 for v in (*scope.features, scope.score)) < POLICY.watch


def test_chunks_profiled_one_at_a_time_add_up_to_the_whole_run(reference: drift.Profile) -> None:
    X, township, score = district(np.random.default_rng(4))
    score[::7] = np.nan  # households the model did not score
    order = np.random.default_rng(5).permutation(len(X))
    X, township, score = X[order], township[order], score[order]
    whole = drift.profile(reference.cuts, X, township, TOWNSHIPS, score)
    total = drift.empty(reference.cuts)
    for part in np.array_split(np.arange(len(X)), 7):
        # a chunk knows only its own townships (a chunk's panel lists the codes it holds)
        codes, local = np.unique(township[part], return_inverse=True)
        total = total + drift.profile(
            reference.cuts, X[part], local, [TOWNSHIPS[k] for k in codes], score[part]
        )
    assert total.townships == whole.townships
    for name in whole.variables:
        np.testing.assert_array_equal(total.counts[name], whole.counts[name])
    assert drift.to_json(total) == drift.to_json(whole)
    assert drift.from_json(drift.to_json(whole)).counts.keys() == whole.counts.keys()
    assert int(whole.households().sum()) == len(X)


def test_flags_counts_and_missing_values_are_binned_so_their_changes_show() -> None:
    size = np.array([1.0, 2, 2, 3, 3, 3, 4, 4, 5, 6] * 30)
    flag = np.zeros(300)
    assert drift.cuts_of(size, "count").tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]  # one bin per value
    assert drift.cuts_of(flag, "flag").tolist() == [0.5]  # 0 and 1 apart even if only 0 was seen
    assert drift.cuts_of(np.full(5, np.nan), "yuan").size == 0
    cuts = drift.cuts_of(np.arange(100.0), "yuan")
    assert len(cuts) == 9  # deciles
    binned = drift.bin_of(np.array([-1.0, 50, 1000, np.nan]), cuts)
    assert binned.tolist() == [0, 5, 9, 10]  # below, middle, above, missing apart
    same = np.array([70, 30, 0, 0])
    assert drift.psi(same, same) == 0
    # a flag turning on for a fifth of households, a feature going missing for a third: both drift
    assert drift.psi(np.array([300, 0, 0]), np.array([240, 60, 0])) > 0.2
    assert drift.psi(np.array([100, 100, 100, 0]), np.array([70, 60, 70, 100])) > 0.2


def test_a_small_township_is_shown_but_not_flagged(reference: drift.Profile) -> None:
    X, township, score = district(np.random.default_rng(6), halved=2, per_township=50)
    found = drift.report(reference, drift.profile(reference.cuts, X, township, TOWNSHIPS, score), POLICY)
    small = found.townships[2]
    assert small.status == "too_few"
    assert small.drifted == []
    assert next(v for v in small.features if v.name == "income_pc").psi is not None


def test_a_run_without_scores_is_not_compared_on_scores(reference: drift.Profile) -> None:
    X, township, _ = district(np.random.default_rng(7))
    found = drift.report(reference, drift.profile(reference.cuts, X, township, TOWNSHIPS, None), POLICY)
    assert (found.district.score.psi, found.district.score.status) == (None, "not_comparable")
    assert found.district.status == "stable"
