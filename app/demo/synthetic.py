"""Income dynamics of the synthetic district: quarterly reports a model can learn from.

Everything here is numpy over (households × quarters) arrays; the people themselves come from demo.py.
The parameters are fixed (CALIBRATION) and were set before any model was tuned; README's
"Synthetic district" section states the targets and how close the generated district comes.

Per household, per quarter, income by source is
    annual per-capita level (sampled within income fifths, assigned by earning capacity)
    × household size / 4 × growth × exp(persistent AR(1) + transitory shock) × seasonality
    × the lingering effect of events (illness, accident, job loss, business failure, disaster),
and events also raise spending (medical) and are recorded with their date and loss.
"""

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EVENT_NAMES = ("illness", "accident", "job_loss", "business_failure", "natural_disaster")
DISASTER_TYPES = ("洪涝", "地质", "旱灾", "气象")


@dataclass(frozen=True)
class Calibration:
    # National rural per-capita income by fifths, 2022 (DOMAIN.md), and the district's level relative to it.
    fifth_means_2022: tuple[float, ...] = (5025, 11965, 17451, 24646, 46075)
    # Hongta against the national rural mean. Yunnan runs at 0.75 (DOMAIN.md), but Yuxi's core district
    # is richer, and its poorest are far richer than the national poorest fifth: its registered-poor
    # households passed 17,000 yuan in 2020, when that fifth averaged 4,681. So the level is the
    # national one, and the two poorest fifths are lifted (fifth_lift). See README for the outcome.
    level_scale: float = 0.85
    fifth_lift: tuple[float, ...] = (2.15, 1.25, 1.05, 1.0, 1.0)
    poorest_floor: float = 0.7  # the poorest fifth is drawn from this share of its mean upwards
    growth_mean: float = 0.065  # nominal, a year (national rural mean 2019–2024: ≈ 7.6 %)
    growth_sd: float = 0.02
    # Income composition by fifth: transfers fall and business rises with income (poorest ≈ 27 %).
    transfer_share: tuple[float, ...] = (0.27, 0.22, 0.19, 0.17, 0.14)
    business_share: tuple[float, ...] = (0.27, 0.31, 0.33, 0.35, 0.40)
    property_share: float = 0.025
    production_cost_share: tuple[float, float] = (0.20, 0.35)  # of gross business income
    # Business income by calendar quarter (harvests of tobacco, vegetables, fruit come late in the year).
    business_season: tuple[float, ...] = (0.19, 0.23, 0.26, 0.32)
    persistent_rho: float = 0.8  # a quarter
    persistent_sd: float = 0.15
    transitory_sd: float = 0.12
    volatility_floor: float = 0.3  # shock scale of a household with no business or migrant income
    # How strongly earning capacity orders households over the income distribution (0: not at all).
    capacity_weight: float = 1.0
    # Event probabilities a quarter, and their effect.
    illness_per_person: float = 0.005  # serious illness onset (×2.5 for members aged 60+)
    accident_per_household: float = 0.003
    job_loss_per_migrant: float = 0.03
    business_failure_per_household: float = 0.01
    disaster_per_village: float = 0.012  # ×2.5 in the rainy third quarter
    disaster_reach: float = 0.5  # share of the village's households hit
    medical_base_per_person: tuple[float, float] = (40, 120)  # a quarter; chronic illness ×4
    dibao_per_person: float = 4500.0  # 2020 rural 低保 standard (DOMAIN.md), a year


CALIBRATION = Calibration()


@dataclass
class Households:
    """What the dynamics need to know about each household (one row per household)."""

    size: IntArray
    workers: IntArray  # ordinary or skilled labour
    migrants: IntArray
    elderly: IntArray  # aged 60+
    chronic: IntArray
    serious: IntArray  # serious illness or disabled
    head_birth_year: IntArray
    lifted: BoolArray  # 脱贫户
    safety_net: BoolArray  # 低保 or 特困 recorded for a member
    village: IntArray  # index of the village (disasters strike villages)


@dataclass
class Event:
    household: int
    quarter: int
    kind: str
    occurred_on: date
    loss: float
    disaster_type: str | None = None


@dataclass
class Quarterly:
    """Amounts per household and quarter, in yuan (2 decimals are applied when written)."""

    wages: FloatArray
    business: FloatArray  # gross (net business income + production cost)
    property: FloatArray
    transfer: FloatArray
    production_cost: FloatArray
    medical: FloatArray
    education: FloatArray
    events: list[Event] = field(default_factory=list)


def annual_levels(rng: np.random.Generator, households: Households, cal: Calibration) -> FloatArray:
    """Per-capita annual income (2022 yuan), sampled within fifths, poorer for weaker earning capacity.

    The draws have the fifths' means and spread (a single lognormal would overstate the poorest
    fifth); they are then handed out by a noisy earning-capacity score, so households with more
    dependants per labourer, illness or no migrant work tend to be poorer, as DOMAIN.md notes.
    """
    n = len(households.size)
    means = np.array(cal.fifth_means_2022) * np.array(cal.fifth_lift) * cal.level_scale
    fifth = rng.integers(0, 5, n)
    low = np.where(fifth == 0, means[0] * cal.poorest_floor, means[np.maximum(fifth - 1, 0)])
    high = np.where(fifth == 4, means[4] * 1.6, means[np.minimum(fifth + 1, 4)])
    draws = rng.triangular(low, means[fifth], high)
    share_working = households.workers / np.maximum(households.size, 1)
    capacity = (
        share_working
        + 0.15 * (households.migrants > 0)
        - 0.2 * households.serious / np.maximum(households.size, 1)
        - 0.1 * households.lifted
    )
    score = cal.capacity_weight * (capacity - capacity.mean()) / (capacity.std() + 1e-9) + rng.normal(0, 1, n)
    levels = np.empty(n)
    levels[np.argsort(score)] = np.sort(draws)
    return levels


def simulate(
    rng: np.random.Generator,
    households: Households,
    periods: list[tuple[date, date]],
    cal: Calibration = CALIBRATION,
) -> Quarterly:
    n, q = len(households.size), len(periods)
    if q == 0 or n == 0:
        empty = np.zeros((n, q))
        return Quarterly(empty, empty, empty, empty, empty, empty, empty)
    size = households.size.astype(float)
    level = annual_levels(rng, households, cal)
    fifth_of = np.searchsorted(np.quantile(level, [0.2, 0.4, 0.6, 0.8]), level)
    transfer_share = np.array(cal.transfer_share)[fifth_of]
    business_share = np.array(cal.business_share)[fifth_of]
    wage_share = 1 - transfer_share - business_share - cal.property_share
    # With no one able to work, little is earned; pensions, relatives and subsidies replace most of it.
    idle = households.workers == 0
    earned = wage_share + business_share
    wage_share = np.where(idle, wage_share * 0.15, wage_share)
    business_share = np.where(idle, business_share * 0.3, business_share)
    transfer_share = transfer_share + np.where(idle, (earned - wage_share - business_share) * 0.7, 0)

    years = np.array([(end.year - 2022) + (end.month - 1) / 12 for _, end in periods])
    growth = rng.normal(cal.growth_mean, cal.growth_sd, n)
    trend = (1 + growth[:, None]) ** years[None, :]
    persistent = np.empty((n, q))
    # Farm and business income swings; wages less; pensions and allowances hardly: each household's
    # shocks scale with how it earns (mean scale ≈ 1).
    risky = business_share + 0.5 * wage_share * (households.migrants > 0)
    scale = np.clip(
        cal.volatility_floor + (1 - cal.volatility_floor) * risky / max(risky.mean(), 1e-9), 0.2, 3
    )
    persistent_sd, transitory_sd = cal.persistent_sd * scale, cal.transitory_sd * scale
    persistent[:, 0] = rng.normal(0, 1, n) * persistent_sd / np.sqrt(1 - cal.persistent_rho**2)
    for t in range(1, q):
        persistent[:, t] = cal.persistent_rho * persistent[:, t - 1] + rng.normal(0, 1, n) * persistent_sd
    transitory = rng.normal(0, 1, (n, q)) * transitory_sd[:, None]
    shock = np.exp(persistent + transitory - (transitory_sd**2 / 2)[:, None])
    base = (level * size / 4)[:, None] * trend * shock

    season = np.array([cal.business_season[(end.month - 1) // 3] * 4 for _, end in periods])
    head_age = np.array([[end.year for _, end in periods]]) - households.head_birth_year[:, None]
    ageing = np.clip(1 - 0.05 * (head_age - 65), 0.6, 1.0)  # earnings fade as the head ages past 65

    wage_effect, business_effect, medical_extra, events = _events(
        rng, households, periods, base, (wage_share, business_share), cal
    )
    wages = base * wage_share[:, None] * ageing * wage_effect
    business_net = base * business_share[:, None] * season[None, :] * ageing * business_effect
    cost_share = rng.uniform(*cal.production_cost_share, n)[:, None]
    business_gross = np.maximum(business_net, 0) / (1 - cost_share)
    transfer = base * transfer_share[:, None]
    transfer += np.where(households.safety_net, cal.dibao_per_person * size / 4, 0.0)[:, None] * trend
    medical_base = rng.uniform(*cal.medical_base_per_person, n) * (size + 3 * households.chronic)
    medical = medical_base[:, None] * rng.uniform(0.5, 1.5, (n, q)) + medical_extra
    education = rng.uniform(0, 300, (n, 1)) * (households.size >= 3)[:, None] * rng.uniform(0.5, 1.5, (n, q))
    return Quarterly(
        wages=np.maximum(wages, 0),
        business=business_gross,
        property=base * cal.property_share,
        transfer=transfer,
        production_cost=business_gross * cost_share,
        medical=medical,
        education=education,
        events=events,
    )


def _events(
    rng: np.random.Generator,
    households: Households,
    periods: list[tuple[date, date]],
    base: FloatArray,
    shares: tuple[FloatArray, FloatArray],
    cal: Calibration,
) -> tuple[FloatArray, FloatArray, FloatArray, list[Event]]:
    """Multipliers on wages and business income, extra medical spending, and the events behind them.

    An event's effect lingers and fades: it hits fully in its quarter and recovers over the next ones.
    """
    n, q = base.shape
    wage_share, business_share = shares
    wage_effect = np.ones((n, q))
    business_effect = np.ones((n, q))
    medical_extra = np.zeros((n, q))
    events: list[Event] = []
    share_one_worker: FloatArray = 1.0 / np.maximum(households.workers, 1).astype(float)
    rainy = np.array([(end.month - 1) // 3 == 2 for _, end in periods])
    villages = int(households.village.max()) + 1 if n else 0

    def linger(target: FloatArray, hit: BoolArray, depth: FloatArray, quarters: int) -> None:
        for lag in range(quarters):
            recovery = 1 - lag / quarters
            rows, cols = np.nonzero(hit[:, : max(0, q - lag)])  # (a lag past the last quarter: none)
            target[rows, cols + lag] *= 1 - depth[rows] * recovery

    per_person = cal.illness_per_person * (households.size + 1.5 * households.elderly)
    ill = rng.random((n, q)) < per_person[:, None]
    illness_cost = rng.lognormal(np.log(12000), 0.7, (n, q))
    linger(wage_effect, ill, np.minimum(share_one_worker * 1.3, 1.0), 6)  # the sick and a carer
    linger(business_effect, ill, np.full(n, 0.3), 6)
    medical_extra += np.where(ill, illness_cost * 0.45, 0)  # out-of-pocket after insurance
    medical_extra[:, 1:] += np.where(ill[:, :-1], illness_cost[:, :-1] * 0.15, 0)

    accident = rng.random((n, q)) < cal.accident_per_household
    linger(wage_effect, accident, np.full(n, 0.5), 2)
    medical_extra += np.where(accident, rng.lognormal(np.log(5000), 0.6, (n, q)), 0)

    job_loss = (rng.random((n, q)) < cal.job_loss_per_migrant * households.migrants[:, None]) & (
        households.migrants[:, None] > 0
    )
    linger(wage_effect, job_loss, np.full(n, 0.7), 4)

    failure = rng.random((n, q)) < cal.business_failure_per_household
    linger(business_effect, failure, np.full(n, 0.8), 6)

    village_hit = rng.random((villages, q)) < cal.disaster_per_village * np.where(rainy, 2.5, 1.0)
    disaster = village_hit[households.village] & (rng.random((n, q)) < cal.disaster_reach)
    disaster_depth: FloatArray = np.asarray(rng.uniform(0.4, 0.9, n), dtype=float)
    linger(business_effect, disaster, disaster_depth, 3)

    for kind, hits in (
        ("illness", ill),
        ("accident", accident),
        ("job_loss", job_loss),
        ("business_failure", failure),
        ("natural_disaster", disaster),
    ):
        for h, t in zip(*np.nonzero(hits), strict=True):
            start, end = periods[t]
            day = start.toordinal() + int(rng.integers(0, (end - start).days + 1))
            wages, business = float(base[h, t] * wage_share[h]), float(base[h, t] * business_share[h])
            # the loss stated is what the event cost over its lingering quarters
            loss = {
                "illness": medical_extra[h, t],
                "accident": medical_extra[h, t] + wages * 0.5 * 1.5,
                "job_loss": wages * 0.7 * 2.5,
                "business_failure": business * 0.8 * 3.5,
                "natural_disaster": business * disaster_depth[h] * 2,
            }[kind]
            events.append(
                Event(
                    int(h),
                    int(t),
                    kind,
                    date.fromordinal(day),
                    round(float(loss), 2),
                    str(rng.choice(DISASTER_TYPES)) if kind == "natural_disaster" else None,
                )
            )
    return wage_effect, business_effect, medical_extra, events
