"""An independent floor for a scoring run, and the service's `score_all` and `risk run` measured against it.

    PYTHONPATH=. .venv/bin/python bench/scoring_floor.py --households 200000            # floor once, checked
    PYTHONPATH=. .venv/bin/python bench/scoring_floor.py --households 200000 --check 12 # against run 12
    PYTHONPATH=. .venv/bin/python bench/scoring_floor.py --bench --households 200000 50000 --risk-run 200000

The floor is written from the rules as documented (app/risk/rules.py, panel.py, features.py,
app/income_rule.py, the policy schema), WITHOUT importing the scorer: nothing of app.risk,
app.services.scoring, app.services.registry.income or app.income_rule is imported by the floor's code (it
talks to PostgreSQL through plain psycopg; `--check` prints the app modules the process loaded). A run:

1. read: the raw columns a scoring needs (households, effective reports with each income source, their
   events, members, the dated member facts that hold on the scoring day, the last visits, the policy row
   the run uses) on two connections, each half of the households; each row is packed by the server into
   one bytea (int4send/float8send …) and the rows of a few thousand households are aggregated into one
   value, which numpy views as a structured array;
2. features: the rules' columns and the model's, with sorts, `np.add.reduceat`/`np.bincount` and
   `np.searchsorted` (the 人均纯收入 rule: a 12-month window pro rata by days, scaled up from what the
   reports cover, rounded half up to the cent, in Decimal where a float lands on a half cent);
3. rules: every rule code of the service, with the policy's values;
4. model: a scikit-learn model of the same type and size as the district's active champion (fitted once,
   untimed, on the floor's own features with the champion's hyper-parameters);
5. write: one row per household (household_id, score, level, reason_codes) built as one binary COPY
   stream in numpy, copied into a fresh table, committed.

`--check RUN_ID` (and every --bench measurement) compares the floor's rule codes with those the service
stored for a run (risk_result.reason_codes, less `model_warning`, which the champion adds), household by
household, and prints the number that disagree.

Districts: bench/risk_scoring.py's builder with 12 quarterly reports (`generate_quarters`): database
shouwang_bench_<size>_q12, dump /work/bench-data/shouwang_bench_<size>_q12.dump, restored when the database
is missing. --bench measures, interleaved (floor, service, floor, service … after a warm-up of each), the
floor against `score_all` on each --households size (the active champion ensured by risk_scoring's
ensure_model), and with --risk-run SIZE the whole `shouwang risk run` (score_all + cases.open_for_run) on a
fresh copy of that district: its first run, then a repeat.
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_scoring as district_bench  # noqa: E402

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]

QUARTERS = 12
RESULT_TABLE = "floor_result"
EPS = 0.005  # amounts are yuan with 2 decimals: comparisons allow half a cent
WINDOW_MONTHS = 12
SAME_PERIOD_DAYS = 7  # the report "a year earlier" ends within this many days of a year before
DAYS_PER_MONTH = 30.44
NEVER, ALWAYS = 10**7, -(10**7)
UNIX_DAY0 = date(1970, 1, 1).toordinal()
GROUP = 4096  # households per aggregated bytea value
# modules the floor must not load (the scorer, its rules and the income rule)
SCORER_MODULES = ("app.risk", "app.services.scoring", "app.services.registry.income", "app.income_rule")

# rule codes in the order the service lists them, with the level each gives ("" : decided per row)
CODES = (
    "income_below_line",
    "income_estimated",
    "sharp_income_drop",
    "rigid_spending",
    "medical_spending",
    "education_spending",
    "housing_unsafe",
    "compulsory_dropout",
    "no_medical_insurance",
    "water_unsafe",
    "food_clothing",
    "lack_of_labour",
    "sudden_event",
    "stale_report",
)
HIGH_CODES = frozenset(
    {
        "rigid_spending",
        "housing_unsafe",
        "compulsory_dropout",
        "no_medical_insurance",
        "water_unsafe",
        "food_clothing",
    }
)
EVENT_KINDS = ("illness", "disability", "accident", "natural_disaster", "business_failure", "job_loss")
# the policy's defaults (app/schemas/policy.py), for a stored version that predates a setting
POLICY_DEFAULTS: dict[str, Any] = {
    "sharp_drop_margin": "1.5",
    "near_line_margin": "1.5",
    "sharp_drop_share": "0.30",
    "medical_spending_share": "0.30",
    "education_spending_share": "0.30",
    "labour_share_max": "0.25",
    "event_loss_share": "0.30",
    "high_probability": "0.50",
    "medium_probability": "0.20",
    "stale_report_months": 6,
}
# the champion's hyper-parameters (app/risk/champion.py fit_model, "large": beyond a few hundred households)
HGB_PARAMS: dict[str, Any] = {
    "max_iter": 120,
    "learning_rate": 0.08,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
    "random_state": 0,
}
MODEL_FEATURES = (
    "income_pc",
    "line_ratio",
    "latest_quarter_ratio",
    "change_1y",
    "change_1q",
    "volatility",
    "transfer_share",
    "wage_share",
    "business_share",
    "medical_ratio",
    "education_ratio",
    "event_loss_ratio",
    "event_count",
    "size",
    "dependency",
    "elderly",
    "children",
    "chronic",
    "serious",
    "housing_unsafe",
    "water_unsafe",
    "lifted",
    "months_since_report",
)

say = district_bench.say


def conninfo(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as libpq takes it."""
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("postgresql"):
        raise SystemExit(f"the floor reads PostgreSQL only, not {scheme}")
    return "postgresql://" + rest


# ---- the policy ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    version: int
    line_years: I8
    line_amounts: F8
    values: dict[str, Any]

    def f(self, name: str) -> float:
        return float(Decimal(str(self.values.get(name, POLICY_DEFAULTS[name]))))


def read_policy(conn: psycopg.Connection[Any], version: int | None) -> Policy:
    """The district's policy row: the given version, else the newest (as a run records it)."""
    if version is None:
        row = conn.execute(
            "SELECT version, data FROM policy_version ORDER BY version DESC LIMIT 1"
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT version, data FROM policy_version WHERE version = %s", (version,)
        ).fetchone()
    if row is None:
        raise SystemExit("no policy version: run the migrations")
    data = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    lines = sorted((int(x["year"]), float(Decimal(str(x["amount"])))) for x in data["monitoring_lines"])
    return Policy(
        int(row[0]),
        np.array([y for y, _ in lines], dtype=np.int64),
        np.array([a for _, a in lines], dtype=np.float64),
        data,
    )


# ---- reading ------------------------------------------------------------------------------------------

BE = ">"


def _packed(conn: psycopg.Connection[Any], sql: str, dtype: np.dtype[Any], params: Sequence[Any]) -> Any:
    """Rows packed by the server into one bytea each, aggregated per GROUP households: one structured
    array (big-endian fields as sent)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(sql, params)
        parts = [r[0] for r in cur.fetchall() if r[0] is not None]
    return np.frombuffer(b"".join(parts), dtype=dtype)


def _native(rows: Any) -> dict[str, npt.NDArray[Any]]:
    out: dict[str, npt.NDArray[Any]] = {}
    for name in rows.dtype.names:
        kind = rows.dtype[name].kind
        out[name] = rows[name].astype(np.float64 if kind == "f" else np.int64)
    return out


DAY = "({} - DATE '0001-01-01' + 1)"  # a date as date.toordinal()

HOUSEHOLDS = np.dtype([("id", ">i4"), ("lifted", ">i2")])
REPORTS = np.dtype(
    [
        ("hh", ">i4"),
        ("id", ">i4"),
        ("start", ">i4"),
        ("end", ">i4"),
        ("wages", ">f8"),
        ("business", ">f8"),
        ("property", ">f8"),
        ("transfer", ">f8"),
        ("payout", ">f8"),
        ("cost", ">f8"),
        ("medical", ">f8"),
        ("education", ">f8"),
        ("flags", ">i2"),
    ]
)
MEMBERS = np.dtype(
    [("hh", ">i4"), ("id", ">i4"), ("joined", ">i4"), ("left", ">i4"), ("birth", ">i4"), ("insured", ">i2")]
)
FACTS = np.dtype([("member", ">i4"), ("code", ">i2"), ("start", ">i4"), ("id", ">i4")])
EVENTS = np.dtype([("report", ">i4"), ("id", ">i4"), ("day", ">i4"), ("kind", ">i2"), ("loss", ">f8")])
VISITS = np.dtype([("hh", ">i4"), ("day", ">i4")])
SUPERSEDED = np.dtype([("id", ">i4")])
SUPERSEDED_SQL = (
    "SELECT string_agg(int4send(supersedes_id), ''::bytea) FROM report WHERE supersedes_id IS NOT NULL"
)


def _sql_households() -> str:
    return (
        "SELECT string_agg(int4send(id) || int2send((household_type = '脱贫户')::int::int2), ''::bytea)"
        f" FROM household WHERE id BETWEEN %s AND %s GROUP BY id / {GROUP}"
    )


def _sql_reports() -> str:
    money = ("wages", "business", "property", "transfer", "insurance_payout", "production_cost")
    spent = ("spending_medical", "spending_education")
    # flags: housing C/D 1, A/B 0, unknown 2; then drinking water safe, food secure, clothing secure as
    # 0 false / 1 true / 2 unknown, in base 3
    flags = (
        "(CASE WHEN housing_grade IS NULL THEN 2 WHEN housing_grade IN ('C', 'D') THEN 1 ELSE 0 END"
        " + 3 * coalesce(drinking_water_safe::int, 2) + 9 * coalesce(food_secure::int, 2)"
        " + 27 * coalesce(clothing_secure::int, 2))::int2"
    )
    packed = " || ".join(
        [
            "int4send(household_id)",
            "int4send(id)",
            f"int4send({DAY.format('period_start')})",
            f"int4send({DAY.format('period_end')})",
            *(f"float8send({c}::float8)" for c in (*money, *spent)),
            f"int2send({flags})",
        ]
    )
    return (
        f"SELECT string_agg({packed}, ''::bytea) FROM report"
        f" WHERE household_id BETWEEN %s AND %s AND period_end <= %s GROUP BY household_id / {GROUP}"
    )


def _sql_members() -> str:
    packed = " || ".join(
        [
            "int4send(household_id)",
            "int4send(id)",
            f"int4send(coalesce({DAY.format('joined_on')}, {ALWAYS}))",
            f"int4send(coalesce({DAY.format('left_on')}, {NEVER}))",
            f"int4send({DAY.format('birth_date')})",
            "int2send(coalesce(basic_medical_insurance::int, 2)::int2)",
        ]
    )
    return (
        f"SELECT string_agg({packed}, ''::bytea) FROM member"
        f" WHERE household_id BETWEEN %s AND %s GROUP BY household_id / {GROUP}"
    )


# a fact that holds on the scoring day, as one small code: 1-3 chronic / serious illness / disabled (the
# index in Health), 4 cannot work, 5 can work (ordinary or skilled labour), 6 dropped out of school,
# 7 低保 or 特困
FACT_CODE = (
    "CASE WHEN fact = 'health' THEN CASE value WHEN '长期慢性病' THEN 1 WHEN '患有大病' THEN 2 ELSE 3 END"
    " WHEN fact = 'labour_capacity' THEN CASE WHEN value IN ('普通劳动力', '技能劳动力') THEN 5 ELSE 4 END"
    " WHEN fact = 'schooling' THEN 6 ELSE 7 END"
)
FACT_WANTED = (
    "((fact = 'health' AND value IN ('长期慢性病', '患有大病', '残疾'))"
    " OR fact = 'labour_capacity' OR (fact = 'schooling' AND value = '辍学')"
    " OR (fact IN ('dibao', 'tekun') AND value = 'true'))"
)


def _sql_facts() -> str:
    packed = (
        f"int4send(member_id) || int2send(({FACT_CODE})::int2) || int4send({DAY.format('valid_from')})"
        " || int4send(id)"
    )
    return (
        f"SELECT string_agg({packed}, ''::bytea) FROM member_fact"
        f" WHERE member_id BETWEEN %s AND %s AND superseded_at IS NULL AND {FACT_WANTED}"
        " AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s) GROUP BY member_id / 16384"
    )


def _sql_events() -> str:
    kind = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(EVENT_KINDS))
    packed = (
        f"int4send(report_id) || int4send(id) || int4send({DAY.format('occurred_on')})"
        f" || int2send((CASE kind {kind} ELSE -1 END)::int2) || float8send(loss::float8)"
    )
    return (
        f"SELECT string_agg({packed}, ''::bytea) FROM report_event WHERE occurred_on <= %s"
        " GROUP BY report_id / 65536"
    )


def _sql_visits() -> str:
    return (
        f"SELECT string_agg(int4send(household_id) || int4send({DAY.format('last')}), ''::bytea)"
        " FROM (SELECT household_id, max(visited_on) AS last FROM visit WHERE visited_on <= %s"
        " GROUP BY household_id) v"
    )


@dataclass
class Raw:
    """The raw columns, each as numpy arrays (native), by table."""

    households: dict[str, npt.NDArray[Any]]
    reports: dict[str, npt.NDArray[Any]]
    members: dict[str, npt.NDArray[Any]]
    facts: dict[str, npt.NDArray[Any]]
    events: dict[str, npt.NDArray[Any]]
    visits: dict[str, npt.NDArray[Any]]
    superseded: I8
    policy: Policy
    champion: dict[str, Any] | None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per query and connection


def _concat(parts: list[dict[str, npt.NDArray[Any]]]) -> dict[str, npt.NDArray[Any]]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def read_raw(url: str, as_of: date, policy_version: int | None = None) -> Raw:
    """Read on two connections at once, each half of the households (and half of the members' facts);
    the small tables on the first."""
    info = conninfo(url)
    with psycopg.connect(info) as conn:
        conn.execute("SET jit = off")
        lo, hi = conn.execute("SELECT min(id), max(id) FROM household").fetchone() or (None, None)
        mlo, mhi = conn.execute("SELECT min(id), max(id) FROM member").fetchone() or (None, None)
        if lo is None:
            raise SystemExit("the district has no household")
        # halves by count, not by id span: the id at the middle row
        mid = conn.execute(
            "SELECT id FROM household ORDER BY id OFFSET (SELECT count(*) / 2 FROM household) LIMIT 1"
        ).fetchone()
        split = int(mid[0]) if mid else int(hi)
        policy = read_policy(conn, policy_version)
        found = conn.execute(
            "SELECT id, champion, estimator, created_by FROM risk_model WHERE status = 'active' LIMIT 1"
        ).fetchone()
        champion = (
            None
            if found is None
            else {"id": found[0], "champion": found[1], "estimator": found[2], "created_by": found[3]}
        )
    mlo, mhi = int(mlo or 0), int(mhi or 0)
    msplit = (mlo + mhi) // 2
    halves = [(int(lo), split - 1, mlo, msplit), (split, int(hi), msplit + 1, mhi)]
    results: list[dict[str, Any]] = [{}, {}]
    errors: list[BaseException] = []
    timings: dict[str, float] = {}

    def work(k: int) -> None:
        h_lo, h_hi, m_lo, m_hi = halves[k]
        out = results[k]
        try:
            with psycopg.connect(info) as conn:
                # (each GROUP's aggregate is held in memory: at the default 4 MB the hash aggregate spills
                # to disk and doubles the time)
                conn.execute("SET jit = off")
                conn.execute("SET work_mem = '256MB'")
                queries = [
                    ("households", _sql_households(), HOUSEHOLDS, (h_lo, h_hi)),
                    ("reports", _sql_reports(), REPORTS, (h_lo, h_hi, as_of)),
                    ("members", _sql_members(), MEMBERS, (h_lo, h_hi)),
                    ("facts", _sql_facts(), FACTS, (m_lo, m_hi, as_of, as_of)),
                ]
                if k == 0:
                    queries.append(("events", _sql_events(), EVENTS, (as_of,)))
                else:
                    queries.append(("visits", _sql_visits(), VISITS, (as_of,)))
                    queries.append(("superseded", SUPERSEDED_SQL, SUPERSEDED, ()))
                for name, sql, dtype, params in queries:
                    started = time.perf_counter()
                    out[name] = _native(_packed(conn, sql, dtype, params))
                    timings[f"{name}_{k}"] = time.perf_counter() - started
                SERVER_CPU.append(backend_cpu(conn))
        except BaseException as exc:  # (re-raised in the caller)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,), name=f"floor-read-{k}") for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return Raw(
        households=_concat([r["households"] for r in results]),
        reports=_concat([r["reports"] for r in results]),
        members=_concat([r["members"] for r in results]),
        facts=_concat([r["facts"] for r in results]),
        events=results[0]["events"],
        visits=results[1]["visits"],
        superseded=results[1]["superseded"]["id"],
        policy=policy,
        champion=champion,
        timings=timings,
    )


# ---- dates over day numbers ------------------------------------------------------------------------------


def _d64(day: I8) -> Any:
    return (day - UNIX_DAY0).astype("datetime64[D]")


def add_months(day: I8, months: int) -> I8:
    """The same day of the month `months` later (clamped to the month's last day), over day numbers."""
    d = _d64(day)
    month = d.astype("datetime64[M]")
    into = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    last = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64) - 1
    out = target.astype("datetime64[D]") + np.minimum(into, last)
    return out.astype(np.int64) + UNIX_DAY0  # type: ignore[no-any-return]


def year_month_day(day: I8) -> tuple[I8, I8]:
    """Year, and month * 100 + day, of each day number."""
    d = _d64(day)
    year = d.astype("datetime64[Y]")
    month = d.astype("datetime64[M]")
    m = (month - year.astype("datetime64[M]")).astype(np.int64) + 1
    dd = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    return year.astype(np.int64) + 1970, m * 100 + dd


# ---- features -------------------------------------------------------------------------------------------


@dataclass
class Features:
    household_ids: I8
    rules: dict[str, F8]
    scored: I8  # households with a report (the model scores these)
    X: F8  # MODEL_FEATURES of the scored households
    counts: dict[str, int] = field(default_factory=dict)


def _window(r: dict[str, Any], targets: I8, ok: B1) -> dict[str, F8]:
    """For each target report row (ok: a real row), the 12 months ending at its period_end: the annualised
    net income (to the cent), the days covered, and the window's sums; pro rata by days, the target
    report and the household's earlier reports ending in the window before the target begins."""
    n = len(targets)
    t = np.where(ok, targets, 0)
    end, start = r["end"][t], r["start"][t]
    ws = add_months(end + 1, -WINDOW_MONTHS)
    sums = {
        k: np.zeros(n) for k in ("total", "covered", "medical", "education", "transfer", "wages", "business")
    }
    magnitude = np.zeros(n)
    used_rows: list[tuple[I8, I8]] = []
    k = 0
    while True:
        j = t - k
        inside = ok & (j >= 0)
        j = np.where(inside, j, 0)
        inside &= r["hh"][j] == r["hh"][t]
        if k:
            reach = inside & (r["end"][j] >= ws)  # further back, reports end earlier still
            if not reach.any():
                break
            inside = reach & (r["end"][j] < start)
        overlap = (r["end"][j] - np.maximum(r["start"][j], ws) + 1).astype(np.float64)
        length = r["end"][j] - r["start"][j] + 1

        def part(values: F8) -> F8:
            return np.where(inside, values[j] * overlap / length, 0.0)  # noqa: B023

        sums["total"] += part(r["net"])
        magnitude += part(r["magnitude"])
        sums["covered"] += np.where(inside, overlap, 0.0)
        sums["transfer"] += part(r["transfer_in"])
        sums["wages"] += part(r["wages"])
        sums["business"] += part(r["business_net"])
        sums["medical"] += np.where(inside, r["medical"][j], 0.0)
        sums["education"] += np.where(inside, r["education"][j], 0.0)
        used_rows.append((np.flatnonzero(inside), j[inside]))
        k += 1
    days = (end - ws + 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        annual = sums["total"] * days / sums["covered"]
        bound = magnitude * days / sums["covered"] * 1e-12
        cents = np.sign(annual) * np.floor(np.abs(annual) * 100 + 0.5 + 1e-9) / 100
        near_half = np.abs(np.abs(annual * 100) % 1 - 0.5) <= 1e-7 + bound * 100
    for i in np.flatnonzero(near_half & ok):
        rows = [int(t[i])] + sorted(int(jj) for ii, js in used_rows[1:] for jj in js[ii == i])
        cents[i] = float(_annual_decimal(r, rows, int(ws[i])))
    sums["annual"] = np.where(ok, cents, np.nan)
    sums["window_days"] = days
    sums["window_start"] = ws.astype(np.float64)
    return sums


def _annual_decimal(r: dict[str, Any], rows: list[int], ws: int) -> Decimal:
    """The window's annual net income in Decimal (the reports API's reference): the target report first,
    then the earlier ones, oldest first; rounded half up to the cent."""
    total, covered = Decimal(0), 0
    for k in rows:
        net = Decimal(int(r["net_cents"][k])) / 100
        inside = int(r["end"][k]) - max(int(r["start"][k]), ws) + 1
        total += net * inside / (int(r["end"][k] - r["start"][k]) + 1)
        covered += inside
    end = int(r["end"][rows[0]])
    return (total * (end - ws + 1) / covered).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _per_head(amount: F8, size: F8) -> F8:
    """amount / size rounded half up to the cent, in integer cents."""
    cents = np.rint(np.nan_to_num(amount) * 100).astype(np.int64)
    by = np.maximum(size, 1).astype(np.int64)
    out = np.sign(cents) * ((2 * np.abs(cents) + by) // (2 * by)) / 100
    return np.where((size > 0) & np.isfinite(amount), out, np.nan)


def compute_features(raw: Raw, as_of: date) -> Features:
    day = as_of.toordinal()
    policy = raw.policy
    hh_ids = raw.households["id"]
    order = np.argsort(hh_ids, kind="stable")
    hh_ids = hh_ids[order]
    lifted = raw.households["lifted"][order].astype(np.float64)
    n = len(hh_ids)

    # effective reports (none superseded), by household, period_end, id
    rep = raw.reports
    keep = ~np.isin(rep["id"], raw.superseded) if len(raw.superseded) else np.ones(len(rep["id"]), bool)
    rep = {k: v[keep] for k, v in rep.items()}
    hh = np.searchsorted(hh_ids, rep["hh"])
    order = np.lexsort((rep["id"], rep["end"], hh))
    r: dict[str, Any] = {k: v[order] for k, v in rep.items()}
    r["hh"] = hh[order]
    cents = {
        k: np.rint(r[k] * 100).astype(np.int64)
        for k in ("wages", "business", "property", "transfer", "payout", "cost")
    }
    net_cents = (
        cents["wages"]
        + cents["business"]
        + cents["property"]
        + cents["transfer"]
        + cents["payout"]
        - cents["cost"]
    )
    r["net"] = r["wages"] + r["business"] + r["property"] + r["transfer"] + r["payout"] - r["cost"]
    r["net_cents"] = net_cents
    r["magnitude"] = sum(
        np.abs(r[k]) for k in ("wages", "business", "property", "transfer", "payout", "cost")
    )
    r["transfer_in"] = r["transfer"] + r["payout"]
    r["business_net"] = r["business"] - r["cost"]
    m = len(r["hh"])

    # per household: first and last report row
    first = np.searchsorted(r["hh"], np.arange(n), side="left")
    after = np.searchsorted(r["hh"], np.arange(n), side="right")
    has = after > first
    latest = np.where(has, after - 1, -1)
    L = np.maximum(latest, 0)
    end_l = np.where(has, r["end"][L], 0)

    # the report ending nearest a year before the latest (±7 days; ties: the earlier)
    target = add_months(end_l, -12)
    prev = np.full(n, -1, dtype=np.int64)
    best = np.full(n, SAME_PERIOD_DAYS + 1)
    k = 1
    while True:
        j = L - k
        alive = has & (j >= first)
        if not alive.any():
            break
        jj = np.maximum(j, 0)
        gap = np.abs(r["end"][jj] - target)
        better = alive & (gap <= SAME_PERIOD_DAYS) & (gap <= best)
        prev = np.where(better, jj, prev)
        best = np.where(better, gap, best)
        if not (alive & (r["end"][jj] >= target - SAME_PERIOD_DAYS)).any():
            break
        k += 1
    has_prev = prev >= 0
    before = L - 1
    has_before = has & (before >= first)

    # windows at the latest report, a year earlier, and the report before the latest
    targets = np.concatenate([L, np.maximum(prev, 0), np.maximum(before, 0)])
    ok = np.concatenate([has, has_prev, has_before])
    win = _window(r, targets, ok)
    # members on each target report's period_end: (target, member) pairs of its household
    mem = raw.members
    morder = np.lexsort((mem["id"], mem["hh"]))
    mem = {k: v[morder] for k, v in mem.items()}
    mhh = np.searchsorted(hh_ids, mem["hh"])
    mfirst = np.searchsorted(mhh, np.arange(n), side="left")
    mcount = np.searchsorted(mhh, np.arange(n), side="right") - mfirst
    t_hh = np.concatenate([np.arange(n)] * 3)
    t_day = np.where(ok, r["end"][targets], 0)
    per = np.where(ok, mcount[t_hh], 0)
    pair_t = np.repeat(np.arange(len(targets)), per)
    pair_m = np.repeat(mfirst[t_hh] - np.cumsum(per) + per, per) + np.arange(per.sum())
    active = (mem["joined"][pair_m] <= t_day[pair_t]) & (mem["left"][pair_m] > t_day[pair_t])
    size_at_end = np.bincount(pair_t, weights=active, minlength=len(targets)).astype(np.float64)
    pc = _per_head(win["annual"], size_at_end)
    pc = np.where(ok, pc, np.nan)
    pc_l, pc_prev, pc_before = pc[:n], pc[n : 2 * n], pc[2 * n :]
    annual_l = win["annual"][:n]
    size_l = np.where(has, size_at_end[:n], np.nan)

    # members on the scoring day, with the facts that hold that day
    on = (mem["joined"] <= day) & (mem["left"] > day)
    facts = raw.facts
    fpos = np.searchsorted(mem["id"], facts["member"], sorter=np.argsort(mem["id"], kind="stable"))
    by_id = np.argsort(mem["id"], kind="stable")
    fpos = np.minimum(fpos, max(len(by_id) - 1, 0))
    found = (mem["id"][by_id[fpos]] == facts["member"]) if len(by_id) else np.zeros(0, bool)
    frow = by_id[fpos][found]
    fcode = facts["code"][found]
    fstart = facts["start"][found]
    fid = facts["id"][found]
    # of two facts of one kind that hold the same day, the later-starting one (sorted only when a member has
    # two: rarely, the record allows one open fact of a kind)
    kind = np.select([fcode <= 3, fcode <= 5, fcode == 6], [0, 1, 2], 3)
    slot = frow * 4 + kind
    if len(slot) and np.bincount(slot).max() > 1:
        forder = np.lexsort((fid, fstart, slot))
        slot, frow, fcode = slot[forder], frow[forder], fcode[forder]
        last = np.append(slot[1:] != slot[:-1], True)
        frow, fcode = frow[last], fcode[last]
    nm = len(mem["id"])
    health = np.zeros(nm, dtype=np.int64)
    can_work = np.full(nm, np.nan)
    dropped = np.zeros(nm, dtype=bool)
    safety = np.zeros(nm, dtype=bool)
    sel = fcode <= 3
    health[frow[sel]] = fcode[sel]
    sel = (fcode == 4) | (fcode == 5)
    can_work[frow[sel]] = (fcode[sel] == 5).astype(np.float64)
    dropped[frow[fcode == 6]] = True
    safety[frow[fcode == 7]] = True
    dy, dmd = year_month_day(np.array([day]))
    by, bmd = year_month_day(mem["birth"])
    age = dy[0] - by - (dmd[0] < bmd)

    def per_household(values: B1) -> F8:
        return np.bincount(mhh, weights=values, minlength=n).astype(np.float64)

    size_now = per_household(on)
    known_labour = per_household(on & ~np.isnan(can_work))
    workers = per_household(on & (can_work == 1))
    known_insured = per_household(on & (mem["insured"] != 2))
    uninsured = per_household(on & (mem["insured"] == 0))
    safety_net = per_household(on & safety) > 0
    dropout = per_household(on & dropped & (age >= 6) & (age < 16)) > 0

    # the latest report's own flags
    flags = np.where(has, r["flags"][L], 2 + 3 * 2 + 9 * 2 + 27 * 2)
    housing, water, food, clothing = flags % 3, flags // 3 % 3, flags // 9 % 3, flags // 27 % 3
    housing_unsafe = np.where(housing == 2, np.nan, (housing == 1).astype(np.float64))
    water_unsafe = np.where(water == 2, np.nan, (water == 0).astype(np.float64))
    insecure = np.where(
        (food == 2) & (clothing == 2), np.nan, ((food == 0) | (clothing == 0)).astype(np.float64)
    )

    # events of the household's reports up to the latest, within 12 months and the latest's window
    ev = raw.events
    by_report = np.argsort(r["id"], kind="stable")
    epos = np.minimum(np.searchsorted(r["id"], ev["report"], sorter=by_report), max(m - 1, 0))
    efound = (r["id"][by_report[epos]] == ev["report"]) if m else np.zeros(len(ev["report"]), bool)
    erow = by_report[epos][efound]
    ehh = r["hh"][erow]
    eday, eloss, ekind, eid = ev["day"][efound], ev["loss"][efound], ev["kind"][efound], ev["id"][efound]
    since = np.maximum(win["window_start"][:n].astype(np.int64), add_months(np.full(n, day), -12))
    counted = has[ehh] & (eday >= since[ehh]) & (eday <= day)
    loss = np.bincount(ehh[counted], weights=eloss[counted], minlength=n)
    event_count = np.bincount(ehh[counted], minlength=n).astype(np.float64)
    eorder = np.lexsort((-eid[counted], eloss[counted], ehh[counted]))
    ch = ehh[counted][eorder]
    top = np.append(ch[1:] != ch[:-1], True) if len(ch) else np.zeros(0, bool)
    event_kind = np.full(n, np.nan)
    kinds = ekind[counted][eorder][top].astype(np.float64)
    event_kind[ch[top]] = np.where(kinds >= 0, kinds, np.nan)

    # the last visit
    visit = np.full(n, np.nan)
    vpos = np.searchsorted(hh_ids, raw.visits["hh"])
    vok = (vpos < n) & (hh_ids[np.minimum(vpos, n - 1)] == raw.visits["hh"])
    visit[vpos[vok]] = raw.visits["day"][vok]

    years, _ = year_month_day(end_l)
    at = np.maximum(np.searchsorted(policy.line_years, years, side="right") - 1, 0)
    line = np.where(has, policy.line_amounts[at], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        months = np.where(has, np.round((day - end_l.astype(np.float64)) / DAYS_PER_MONTH, 1), np.nan)
        months_visit = np.round((day - visit) / DAYS_PER_MONTH, 1)
        months_visit = np.where(months_visit >= 0, months_visit, np.nan)
        rules = {
            "income_pc": pc_l,
            "line": line,
            "income_pc_prev": pc_prev,
            "size": size_l,
            "income_total": annual_l,
            "oop_medical": np.where(has, win["medical"][:n], np.nan),
            "oop_education": np.where(has, win["education"][:n], np.nan),
            "event_loss": np.where(has, loss, np.nan),
            "event_kind": event_kind,
            "housing_unsafe": housing_unsafe,
            "dropout_compulsory": dropout.astype(np.float64),
            "uninsured_member": np.where(known_insured > 0, (uninsured > 0).astype(np.float64), np.nan),
            "water_unsafe": water_unsafe,
            "food_clothing_insecure": insecure,
            "labour_share": np.where(known_labour > 0, workers / size_now, np.nan),
            "safety_net": safety_net.astype(np.float64),
            "months_since_report": months,
            "months_since_visit": months_visit,
            "income_covered_share": np.where(has, win["covered"][:n] / win["window_days"][:n], np.nan),
            "active_members": size_now,
        }

        # the model's columns, for households with a report
        per_day = r["net"] / (r["end"] - r["start"] + 1)
        lags = []
        for lag in range(4):
            j = L - lag
            lags.append(np.where(has & (j >= first), per_day[np.maximum(j, 0)], np.nan))
        stacked = np.vstack(lags)
        valid = np.sum(~np.isnan(stacked), axis=0)
        mean = np.nansum(stacked, axis=0) / np.maximum(valid, 1)
        spread = np.sqrt(np.nansum((stacked - mean) ** 2, axis=0) / np.maximum(valid, 1))
        base = np.abs(win["total"][:n])
        model = {
            "income_pc": pc_l,
            "line_ratio": pc_l / line,
            "latest_quarter_ratio": per_day[L] * 365 / np.where(size_l > 0, size_l, np.nan) / line,
            "change_1y": pc_l / pc_prev - 1,
            "change_1q": pc_l / np.where(has_before, pc_before, np.nan) - 1,
            "volatility": np.where(valid >= 2, spread / np.abs(mean), np.nan),
            "transfer_share": win["transfer"][:n] / base,
            "wage_share": win["wages"][:n] / base,
            "business_share": win["business"][:n] / base,
            "medical_ratio": win["medical"][:n] / annual_l,
            "education_ratio": win["education"][:n] / annual_l,
            "event_loss_ratio": loss / annual_l,
            "event_count": event_count,
            "size": size_l,
            "dependency": np.where(known_labour > 0, 1 - workers / size_now, np.nan),
            "elderly": per_household(on & (age >= 60)),
            "children": per_household(on & (age < 16)),
            "chronic": per_household(on & (health == 1)),
            "serious": per_household(on & ((health == 2) | (health == 3))),
            "housing_unsafe": housing_unsafe,
            "water_unsafe": water_unsafe,
            "lifted": lifted,
            "months_since_report": months,
        }
    scored = np.flatnonzero(has)
    X = np.column_stack([model[name][scored] for name in MODEL_FEATURES]).astype(np.float64)
    X[~np.isfinite(X)] = np.nan
    return Features(
        hh_ids,
        rules,
        scored,
        X,
        {
            "households": n,
            "reports": m,
            "members": nm,
            "facts": len(raw.facts["member"]),
            "events": len(raw.events["report"]),
        },
    )


# ---- rules ----------------------------------------------------------------------------------------------


def evaluate(frame: dict[str, F8], policy: Policy) -> tuple[npt.NDArray[np.bool_], B1, B1]:
    """Every rule as a boolean column (in CODES order), whether each household has a high reason, and
    whether it has any."""
    income, line, prev = frame["income_pc"], frame["line"], frame["income_pc_prev"]
    total, size = frame["income_total"], frame["size"]
    covered = frame["income_covered_share"]
    n = len(income)
    fired: dict[str, B1] = {}
    high_extra = np.zeros(n, dtype=bool)

    def flag(values: F8) -> B1:
        return np.nan_to_num(values, nan=0.0) >= 0.5

    with np.errstate(invalid="ignore", divide="ignore"):
        estimated = covered < 1 - 1e-9
        below = income < line - EPS
        thin = covered < 0.5 - 1e-9
        fired["income_below_line"] = below
        high_extra |= below & ~thin
        near_line = line * policy.f("near_line_margin") - EPS
        fired["income_estimated"] = estimated & ~below & (income < near_line)
        near = ~below & (income < line * policy.f("sharp_drop_margin") - EPS)
        fired["sharp_income_drop"] = (
            near & (prev > 0) & (income <= prev * (1 - policy.f("sharp_drop_share")) + EPS)
        )
        medical, education = np.nan_to_num(frame["oop_medical"]), np.nan_to_num(frame["oop_education"])
        after_rigid = (total - medical - education) / size
        fired["rigid_spending"] = (income >= line - EPS) & (size > 0) & (after_rigid < line - EPS)
        for column, share, code in (
            ("oop_medical", "medical_spending_share", "medical_spending"),
            ("oop_education", "education_spending_share", "education_spending"),
        ):
            spent = np.nan_to_num(frame[column])
            fired[code] = (spent > 0) & ((total <= 0) | (spent > total * policy.f(share) + EPS))
    for column, code in (
        ("housing_unsafe", "housing_unsafe"),
        ("dropout_compulsory", "compulsory_dropout"),
        ("uninsured_member", "no_medical_insurance"),
        ("water_unsafe", "water_unsafe"),
        ("food_clothing_insecure", "food_clothing"),
    ):
        fired[code] = flag(frame[column])
    with np.errstate(invalid="ignore", divide="ignore"):
        fired["lack_of_labour"] = (
            (frame["labour_share"] <= policy.f("labour_share_max") + 1e-9)
            & ~flag(frame["safety_net"])
            & (income < near_line)
        )
        loss = np.nan_to_num(frame["event_loss"])
        hard = (total <= 0) | ((total - loss) / size < near_line)
        fired["sudden_event"] = (
            (loss > 0) & ((total <= 0) | (loss > total * policy.f("event_loss_share") + EPS)) & hard
        )
        months, visited = frame["months_since_report"], frame["months_since_visit"]
        limit = float(policy.values.get("stale_report_months", POLICY_DEFAULTS["stale_report_months"])) + 1e-9
        fired["stale_report"] = (
            (np.isnan(months) | (months > limit))
            & (np.isnan(visited) | (visited > limit))
            & (frame["active_members"] > 0)
        )
    matrix = np.column_stack([fired[c] for c in CODES])
    high = high_extra | matrix[:, [CODES.index(c) for c in HIGH_CODES]].any(axis=1)
    return matrix, high, np.asarray(matrix.any(axis=1), dtype=bool)


# ---- the model ------------------------------------------------------------------------------------------

_MODELS: dict[str, Any] = {}


def floor_model(key: str, champion: dict[str, Any] | None, X: F8) -> Any:
    """A model of the champion's type and size, fitted once (untimed) on the floor's own features, on a
    label of its own (below 1.1 × the line, with noise): it need not agree with the champion's
    probabilities, only cost what the champion costs to score. None: no champion (rules alone)."""
    if champion is None:
        return None
    name = f"{key}:{champion['id']}"
    if name in _MODELS:
        return _MODELS[name]
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    sample = rng.choice(len(X), min(len(X), 30_000), replace=False)
    Xs = X[sample]
    ratio = np.nan_to_num(Xs[:, MODEL_FEATURES.index("line_ratio")], nan=2.0)
    y = ratio * np.exp(rng.normal(0, 0.15, len(ratio))) < 1.1
    if y.all() or not y.any():
        y[: len(y) // 2] = ~y[: len(y) // 2]
    fit, calibrate = np.arange(len(Xs)) % 5 != 0, np.arange(len(Xs)) % 5 == 0
    model: Any
    if champion["champion"] == "model":
        Xf = Xs[fit].copy()
        Xf[:, np.isnan(Xf).all(axis=0)] = 0.0
        trees = HistGradientBoostingClassifier(**HGB_PARAMS).fit(Xf, y[fit])
        model = CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid").fit(
            Xs[calibrate], y[calibrate]
        )
    elif champion["champion"] == "logistic_regression":
        model = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=2000),
        ).fit(Xs, y)
    else:  # a baseline: the distance to the line (the rules baseline costs less still)
        line = np.clip(np.nan_to_num(Xs[:, 1], nan=10.0), 0, 10).reshape(-1, 1)
        model = ("line", LogisticRegression(max_iter=1000).fit(line, y))
    _MODELS[name] = model
    return model


def predict(model: Any, X: F8) -> F8:
    if isinstance(model, tuple):
        line = np.clip(np.nan_to_num(X[:, 1], nan=10.0), 0, 10).reshape(-1, 1)
        return np.asarray(model[1].predict_proba(line)[:, 1], dtype=np.float64)
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


# ---- writing --------------------------------------------------------------------------------------------

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
LEVELS = ("low", "medium", "high")


def copy_stream(household_ids: I8, score: F8, level: I8, combo: I8, codes: list[str]) -> bytes:
    """One binary COPY stream of (household_id int4, score float8 or NULL, level text, reason_codes text),
    built in numpy: per row a fixed head, the score, and the bytes of its (level, codes) pair."""
    n = len(household_ids)
    pairs = level * len(codes) + combo
    blobs = [
        len(lv).to_bytes(4, "big") + lv + len(c).to_bytes(4, "big") + c
        for lv, c in ((lv.encode(), c.encode()) for lv in LEVELS for c in codes)
    ]
    blob_len = np.array([len(b) for b in blobs], dtype=np.int64)
    blob_start = np.concatenate([[0], np.cumsum(blob_len)[:-1]])
    blob_bytes = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    has_score = ~np.isnan(score)
    row_len = 10 + np.where(has_score, 12, 4) + blob_len[pairs]
    ends = np.cumsum(row_len) + len(COPY_HEADER)
    starts = ends - row_len
    buf = np.empty(int(ends[-1]) + 2 if n else len(COPY_HEADER) + 2, dtype=np.uint8)
    buf[: len(COPY_HEADER)] = np.frombuffer(COPY_HEADER, dtype=np.uint8)
    buf[-2:] = 255  # the trailer: -1
    if not n:
        return buf.tobytes()
    head = np.zeros(n, dtype=[("fields", ">i2"), ("len", ">i4"), ("id", ">i4")])
    head["fields"], head["len"], head["id"] = 4, 4, household_ids
    buf[starts[:, None] + np.arange(10)] = head.view(np.uint8).reshape(n, 10)
    value = np.zeros(n, dtype=[("len", ">i4"), ("value", ">f8")])
    value["len"] = np.where(has_score, 8, -1)
    value["value"] = np.nan_to_num(score)
    raw = value.view(np.uint8).reshape(n, 12)
    rows = np.flatnonzero(has_score)
    buf[starts[rows, None] + 10 + np.arange(12)] = raw[rows]
    rows = np.flatnonzero(~has_score)
    buf[starts[rows, None] + 10 + np.arange(4)] = raw[rows, :4]
    lengths = blob_len[pairs]
    at = starts + np.where(has_score, 22, 14)
    inner = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    buf[np.repeat(at, lengths) + inner] = blob_bytes[np.repeat(blob_start[pairs], lengths) + inner]
    return buf.tobytes()


def write_results(url: str, stream: bytes) -> None:
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RESULT_TABLE}")
        conn.execute(
            f"CREATE TABLE {RESULT_TABLE} (household_id int4 NOT NULL, score float8, level text NOT NULL,"
            " reason_codes text NOT NULL)"
        )
        with conn.cursor() as cur, cur.copy(f"COPY {RESULT_TABLE} FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(stream)
        conn.commit()
        SERVER_CPU.append(backend_cpu(conn))


SERVER_CPU: list[float] = []  # CPU seconds of the floor's PostgreSQL backends, each read before it closes


def backend_cpu(conn: psycopg.Connection[Any]) -> float:
    """CPU seconds so far of the connection's server process (NaN unless PostgreSQL runs on this machine)."""
    try:
        stat = Path(f"/proc/{conn.info.backend_pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- a run ----------------------------------------------------------------------------------------------


@dataclass
class FloorRun:
    stages: dict[str, float]
    codes: dict[int, str]  # household id -> the rules' codes ("|a|b|"), without model_warning
    counts: dict[str, int]
    levels: dict[str, int]
    champion: str | None
    reads: dict[str, float] = field(default_factory=dict)  # seconds per query and connection
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: this process, its server backends


def codes_of(matrix: npt.NDArray[np.bool_]) -> tuple[I8, list[str]]:
    """Each row's combination of codes (an index into the list of distinct "|a|b|" strings)."""
    bits = matrix.astype(np.int64) @ (1 << np.arange(matrix.shape[1], dtype=np.int64))
    distinct, combo = np.unique(bits, return_inverse=True)
    names = (*CODES, "model_warning")
    texts = [
        "|" + "".join(f"{c}|" for k, c in enumerate(names) if int(b) >> k & 1) for b in distinct.tolist()
    ]
    return combo.astype(np.int64), texts


def run_floor(url: str, as_of: date, policy_version: int | None = None, keep_codes: bool = False) -> FloorRun:
    stages: dict[str, float] = {}
    SERVER_CPU.clear()
    python_before = time.process_time()
    started = time.perf_counter()
    raw = read_raw(url, as_of, policy_version)
    stages["read"] = time.perf_counter() - started
    t = time.perf_counter()
    feats = compute_features(raw, as_of)
    stages["features"] = time.perf_counter() - t
    t = time.perf_counter()
    matrix, high, anything = evaluate(feats.rules, raw.policy)
    level = np.where(high, 2, np.where(anything, 1, 0)).astype(np.int64)
    stages["rules"] = time.perf_counter() - t
    fit_started, fit_cpu_started = time.perf_counter(), time.process_time()
    model = floor_model(url, raw.champion, feats.X)
    # (untimed: the champion is trained before any run)
    fit_s, fit_cpu = time.perf_counter() - fit_started, time.process_time() - fit_cpu_started
    t = time.perf_counter()
    score = np.full(len(level), np.nan)
    warned = np.zeros(len(level), dtype=bool)
    if model is not None and len(feats.scored):
        p = predict(model, feats.X)
        score[feats.scored] = np.round(p, 4)
        hi, mid = raw.policy.f("high_probability"), raw.policy.f("medium_probability")
        model_level = np.where(p >= hi, 2, np.where(p >= mid, 1, 0))
        warned[feats.scored] = model_level > 0
        current = level[feats.scored]
        level[feats.scored] = np.where((current < 2) & (model_level > 0), model_level, current)
    stages["model"] = time.perf_counter() - t
    t = time.perf_counter()
    combo, texts = codes_of(np.column_stack([matrix, warned]))
    stream = copy_stream(feats.household_ids, score, level, combo, texts)
    write_results(url, stream)
    stages["write"] = time.perf_counter() - t
    stages["total"] = time.perf_counter() - started - fit_s
    cpu = {"python": time.process_time() - python_before - fit_cpu, "server": sum(SERVER_CPU)}
    codes: dict[int, str] = {}
    if keep_codes:
        rule_texts = [s.replace("model_warning|", "") for s in texts]
        codes = dict(zip(feats.household_ids.tolist(), (rule_texts[c] for c in combo.tolist()), strict=True))
    say(f"  (floor model fitted in {fit_s:.1f} s, untimed)" if fit_s > 0.5 else "")
    return FloorRun(
        stages,
        codes,
        feats.counts,
        {name: int((level == k).sum()) for k, name in enumerate(LEVELS)},
        None if raw.champion is None else str(raw.champion["champion"]),
        raw.timings,
        cpu,
    )


# ---- checking against a service run ----------------------------------------------------------------------


@dataclass
class Check:
    run_id: int
    households: int
    disagree: int
    examples: list[tuple[int, str, str]]


def service_codes(url: str, run_id: int) -> tuple[date, int, dict[int, str]]:
    """A service run's as_of, policy version and each household's rule codes (risk_result.reason_codes
    without the champion's model_warning)."""
    with psycopg.connect(conninfo(url)) as conn:
        found = conn.execute(
            "SELECT as_of, policy_version, status FROM risk_run WHERE id = %s", (run_id,)
        ).fetchone()
        if found is None:
            raise SystemExit(f"no risk_run {run_id}")
        if found[2] != "completed":
            raise SystemExit(f"risk_run {run_id} is {found[2]}, not completed")
        rows = conn.execute(
            "SELECT household_id, reason_codes FROM risk_result WHERE run_id = %s", (run_id,)
        ).fetchall()
    return found[0], int(found[1]), {int(h): str(c).replace("model_warning|", "") for h, c in rows}


def compare(floor: dict[int, str], service: dict[int, str], run_id: int) -> Check:
    households = sorted(set(floor) | set(service))
    differ = [h for h in households if floor.get(h) != service.get(h)]
    examples = [(h, service.get(h, "(none)"), floor.get(h, "(none)")) for h in differ[:8]]
    return Check(run_id, len(households), len(differ), examples)


def check_run(url: str, run_id: int) -> tuple[Check, FloorRun]:
    as_of, version, service = service_codes(url, run_id)
    floor = run_floor(url, as_of, version, keep_codes=True)
    return compare(floor.codes, service, run_id), floor


def check_lines(check: Check) -> list[str]:
    lines = [
        f"rule codes, floor against service run {check.run_id}: {check.disagree:,} of {check.households:,} "
        "households disagree"
    ]
    lines += [f"  household {h}: service {s}  floor {f}" for h, s, f in check.examples]
    return lines


def scorer_modules_loaded() -> list[str]:
    return sorted(m for m in sys.modules if m.startswith(SCORER_MODULES))


# ---- districts --------------------------------------------------------------------------------------------


def district_q12(households: int, data_dir: Path) -> district_bench.District:
    """risk_scoring's district of this size, with 12 quarterly reports: its own database and dump."""
    base = district_bench.district_for("postgresql", households, data_dir)
    name = f"{base.name}_q12"
    return district_bench.District(
        "postgresql", name, district_bench.PG_SERVER + name, data_dir / f"{name}.dump"
    )


def prepare(district: district_bench.District, households: int, chunk: int, seed: int) -> None:
    """Build once (risk_scoring.generate_quarters, 12 quarters), dump, and restore from the dump when the
    database is missing."""
    district_bench.open_district(district)
    district_bench.configure(district.url)
    district_bench.migrate(district.url)
    district.built |= district_bench.generate_quarters(households, chunk, seed, QUARTERS)
    present = district_bench.household_count()
    if present != households:
        raise SystemExit(f"{district.name} holds {present:,} households, not {households:,}")
    if district.built.get("generated_households") or "restore_s" in district.built:
        district_bench.vacuum(district, analyze_all=True)
    if not district.dump.exists():
        district.built["dump_s"] = district_bench.save_dump(district)


def fresh_copy(district: district_bench.District, name: str) -> district_bench.District:
    """A new copy of the district's database (CREATE DATABASE … TEMPLATE), for runs that change it."""
    from sqlalchemy import create_engine, text

    district_bench.dispose()
    admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{district.name}" STRATEGY FILE_COPY')
            )
    finally:
        admin.dispose()
    return district_bench.District("postgresql", name, district_bench.PG_SERVER + name, district.dump)


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    district_bench.dispose()
    admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# ---- measuring --------------------------------------------------------------------------------------------


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def floor_step(url: str, as_of: date) -> dict[str, Any]:
    run = run_floor(url, as_of)
    return {
        "s": run.stages["total"],
        **{f"{k}_s": v for k, v in run.stages.items()},
        "levels": run.levels,
        "reads": run.reads,
        "cpu_python_s": run.cpu["python"],
        "cpu_server_s": run.cpu["server"],
    }


def service_step(as_of: date) -> dict[str, Any]:
    server_before, python_before = district_bench.server_cpu(), time.process_time()
    out = district_bench.end_to_end(as_of)
    return {
        "s": out["s"],
        "run_id": out["run_id"],
        "champion": out["champion"],
        "high": out["high"],
        **district_bench.cpu_since(python_before, server_before),
    }


def risk_run_step(as_of: date) -> dict[str, Any]:
    """What `shouwang risk run` does (app/cli/risk.py): score_all, then cases.open_for_run."""
    from app.config import get_settings
    from app.db import get_sessionmaker
    from app.risk import scorer
    from app.services.cases import cases

    server_before, python_before = district_bench.server_cpu(), time.process_time()
    started = time.perf_counter()
    run = scorer.score_all(get_sessionmaker(), get_settings(), as_of=as_of, triggered_by="cli")
    scored = time.perf_counter() - started
    counts = cases.open_for_run(get_sessionmaker(), get_settings(), run.id)
    return {
        "s": time.perf_counter() - started,
        "score_s": scored,
        "signals": dict(counts),
        "run_id": run.id,
        **district_bench.cpu_since(python_before, server_before),
    }


def interleave(
    steps: Sequence[tuple[str, Callable[[], dict[str, Any]]]],
    repeats: int,
    after: Callable[[str, dict[str, Any]], None] | None = None,
    before_round: Callable[[int], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Round 0 is the warm-up; rounds 1..repeats run each step in turn and are kept."""
    kept: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in steps}
    for i in range(repeats + 1):
        if before_round is not None:
            before_round(i)
        for label, step in steps:
            out = step()
            say(f"  {label} {'warm-up' if i == 0 else f'run {i}'}: {out['s']:.2f} s")
            if i:
                kept[label].append(out)
            if after is not None:
                after(label, out)
    return kept


def med(runs: list[dict[str, Any]], key: str = "s") -> float:
    return float(statistics.median(r[key] for r in runs))


def keep_only_run(district: district_bench.District, run_id: int) -> None:
    """Delete this benchmark's service runs but `run_id` (whose results the floor is checked against)."""
    from sqlalchemy import delete, select

    from app.db import session_scope
    from app.models import RiskResult, RiskRun

    with session_scope() as session:
        ids = list(
            session.scalars(select(RiskRun.id).where(RiskRun.triggered_by == "bench", RiskRun.id != run_id))
        )
        if ids:
            session.execute(delete(RiskResult).where(RiskResult.run_id.in_(ids)))
            session.execute(delete(RiskRun).where(RiskRun.id.in_(ids)))
    district_bench.vacuum(district, tables=("risk_result", "risk_run"))


def measure_size(args: argparse.Namespace, households: int) -> dict[str, Any]:
    """The floor against score_all on one district, interleaved; then the rule codes checked."""
    district = district_q12(households, args.data_dir)
    say(f"district {district.name}")
    prepare(district, households, args.chunk, args.seed)
    district_bench.SERVER_DATABASE[:] = [district.name]
    built = dict(district.built)
    built |= district_bench.ensure_model(district, args.data_dir, households, False, None)
    district_bench.delete_bench_runs(district)
    as_of = district_bench.last_report_day() + timedelta(days=1)
    say(f"floor against score_all on {households:,} households, as_of {as_of}")
    last_run: list[int] = []

    def after(label: str, out: dict[str, Any]) -> None:
        if label == "service":
            last_run[:] = [out["run_id"]]
            keep_only_run(district, out["run_id"])

    runs = interleave(
        [("floor", lambda: floor_step(district.url, as_of)), ("service", lambda: service_step(as_of))],
        args.repeats,
        after,
    )
    check, _ = check_run(district.url, last_run[0])
    for line in check_lines(check):
        say(line)
    profile = ""
    if args.profile_top and households == args.households[0]:
        profile = profiled(lambda: service_step(as_of), args.profile_top, f"score_all on {households:,}")
    district_bench.delete_bench_runs(district)
    district_bench.dispose()
    with psycopg.connect(conninfo(district.url)) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RESULT_TABLE}")  # the district stays as it was built
    return {
        "district": district.name,
        "built": {k: str(v) for k, v in built.items()},
        "as_of": str(as_of),
        "floor": runs["floor"],
        "service": runs["service"],
        "check": {
            "run_id": check.run_id,
            "households": check.households,
            "disagree": check.disagree,
            "examples": check.examples,
        },
        "profile": profile,
    }


def measure_risk_run(args: argparse.Namespace, households: int) -> dict[str, Any]:
    """The floor against `risk run` (first run, then a repeat) on a fresh copy of the district each round."""
    district = district_q12(households, args.data_dir)
    prepare(district, households, args.chunk, args.seed)
    district_bench.ensure_model(district, args.data_dir, households, False, None)
    district_bench.delete_bench_runs(district)
    as_of = district_bench.last_report_day() + timedelta(days=1)
    district_bench.dispose()
    copy_name = f"{district.name}_riskrun"
    holder: list[district_bench.District] = []

    def new_copy(_: int) -> None:
        copy = fresh_copy(district, copy_name)
        district_bench.configure(copy.url)
        district_bench.SERVER_DATABASE[:] = [copy.name]
        holder[:] = [copy]

    say(f"risk run (score_all + open_for_run) on a fresh copy of {district.name} each round, as_of {as_of}")
    runs = interleave(
        [
            ("floor", lambda: floor_step(holder[0].url, as_of)),
            ("risk run, first", lambda: risk_run_step(as_of)),
            ("risk run, repeat", lambda: risk_run_step(as_of)),
        ],
        args.repeats,
        before_round=new_copy,
    )
    profile = ""
    if args.profile_top:
        new_copy(0)
        profile = profiled(
            lambda: risk_run_step(as_of), args.profile_top, "risk run (first, on a fresh copy)"
        )
    district_bench.dispose()
    drop_database(copy_name)
    return {"households": households, "as_of": str(as_of), **runs, "profile": profile}


def profiled(step: Callable[[], dict[str, Any]], top: int, label: str) -> str:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    out = step()
    profiler.disable()
    text = io.StringIO()
    # the service's own functions (app/…) by cumulative time, then every function by its own time
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats("/app/", top)
    stats.sort_stats("tottime").print_stats(top // 2)
    return f"profiled {label}: {out['s']:.2f} s under cProfile\n" + text.getvalue()


def bench(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"command": shlex.join(sys.orig_argv), "cpus": os.cpu_count(), "sizes": {}}
    busy0, total0 = cpu_busy()
    load_before = os.getloadavg()
    for households in args.households:
        result["sizes"][households] = measure_size(args, households)
    for households in args.risk_run:
        result["risk_run"] = measure_risk_run(args, households)
    busy1, total1 = cpu_busy()
    result["machine"] = {
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_busy_share": round((busy1 - busy0) / max(total1 - total0, 1), 3),
    }
    return result


STAGES = ("read", "features", "rules", "model", "write", "total")


def bench_report(result: dict[str, Any]) -> str:
    lines = [f"command: {result['command']}", ""]
    lines += [
        "| households | floor: read | features | rules | model | write | **floor total** "
        "| service `score_all` | **service ÷ floor** | rule codes disagreeing |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for households, size in result["sizes"].items():
        floor, service = size["floor"], size["service"]
        stage = " | ".join(f"{med(floor, f'{s}_s'):.2f}" for s in STAGES[:-1])
        f_total, s_total = med(floor), med(service)
        lines.append(
            f"| {int(households):,} | {stage} | **{f_total:.2f}** | {s_total:.2f} | "
            f"**{s_total / f_total:.2f}×** | {size['check']['disagree']} of "
            f"{size['check']['households']:,} |"
        )
    if "risk_run" in result:
        rr = result["risk_run"]
        f_total = med(rr["floor"])
        lines += [
            "",
            f"`risk run` (score_all + cases.open_for_run) on {rr['households']:,} households, a fresh copy "
            "of the district each round:",
            "",
            "| figure | median s | runs | ÷ floor |",
            "|---|---|---|---|",
            f"| floor (CPU {_cpu(rr['floor'])}) | {f_total:.2f} | {_runs(rr['floor'])} | 1 |",
        ]
        for label in ("risk run, first", "risk run, repeat"):
            r = rr[label]
            lines.append(
                f"| {label} (scoring {med(r, 'score_s'):.2f} s; signals {r[-1]['signals']}; CPU {_cpu(r)}) "
                f"| {med(r):.2f} | "
                f"{_runs(r)} | **{med(r) / f_total:.2f}×** |"
            )
    lines.append("")
    for households, size in result["sizes"].items():
        lines.append(
            f"{int(households):,}: floor runs {_runs(size['floor'])}; service runs {_runs(size['service'])}; "
            f"champion {size['service'][-1]['champion']}; district {size['built'].get('source')}; "
            f"CPU per run (median): floor {_cpu(size['floor'])}, service {_cpu(size['service'])}"
        )
        for h, s, f in size["check"]["examples"]:
            lines.append(f"  disagreement, household {h}: service {s} floor {f}")
    m = result["machine"]
    lines.append(
        f"machine: {result['cpus']} CPUs; load average {m['load_before']} before, {m['load_after']} after; "
        f"CPU busy {m['cpu_busy_share']:.0%} of the whole run"
    )
    for size in [*result["sizes"].values(), result.get("risk_run", {})]:
        if size.get("profile"):
            lines += ["", size["profile"]]
    return "\n".join(lines)


def _cpu(runs: list[dict[str, Any]]) -> str:
    if "cpu_python_s" not in runs[0]:
        return "—"
    python, server = med(runs, "cpu_python_s"), med(runs, "cpu_server_s")
    return f"{python:.1f} s Python + {server:.1f} s PostgreSQL = {python + server:.1f} s"


def _runs(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['s']:.2f}" for r in runs)


def floor_report(run: FloorRun, check: Check | None) -> str:
    lines = [
        f"floor: {run.counts}; champion {run.champion or '— (rules alone)'}; levels {run.levels}; CPU "
        f"{run.cpu['python']:.2f} s Python + {run.cpu['server']:.2f} s PostgreSQL",
        "| stage | s |",
        "|---|---|",
        *(f"| {s} | {run.stages[s]:.3f} |" for s in STAGES),
        "reads (s, per query and connection): " + ", ".join(f"{k} {v:.2f}" for k, v in run.reads.items()),
    ]
    if check is not None:
        lines += check_lines(check)
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, nargs="+", default=[200_000])
    parser.add_argument("--database-url", default=None, help="floor/check on this database, not a district")
    parser.add_argument("--check", type=int, default=None, metavar="RUN_ID", help="compare with this run")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="default: after the last report"
    )
    parser.add_argument("--bench", action="store_true", help="measure floor and service, interleaved")
    parser.add_argument("--risk-run", type=int, nargs="*", default=[], metavar="HOUSEHOLDS")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=district_bench.DEFAULT_DATA_DIR)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile-top", type=int, default=0, help="profile one score_all (first size)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bench:
        result = bench(args)
        print(bench_report(result))
        if args.json:
            args.json.write_text(json.dumps(result, default=str, indent=1))
        bad = sum(size["check"]["disagree"] for size in result["sizes"].values())
        return 1 if bad else 0
    if args.database_url:
        url = args.database_url
    else:
        district = district_q12(args.households[0], args.data_dir)
        prepare(district, args.households[0], args.chunk, args.seed)
        district_bench.dispose()
        url = district.url
    check: Check | None = None
    if args.check is not None:
        check, run = check_run(url, args.check)
    else:
        with psycopg.connect(conninfo(url)) as conn:
            last = conn.execute("SELECT max(period_end) FROM report").fetchone()
        if not (last and last[0]):
            raise SystemExit("the district has no reports")
        as_of = args.as_of or last[0] + timedelta(days=1)
        run = run_floor(url, as_of)
    print(floor_report(run, check))
    loaded = scorer_modules_loaded()
    print(f"scorer modules loaded by this process: {', '.join(loaded) if loaded else 'none'}")
    return 1 if (check is not None and check.disagree) or loaded else 0


if __name__ == "__main__":
    sys.exit(main())
