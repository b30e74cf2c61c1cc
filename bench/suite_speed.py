"""Benchmark: the test suite's wall time, a baseline commit's against this tree's, in one run on one machine.

    .venv/bin/python bench/suite_speed.py                      # the whole suite, SQLite then PostgreSQL
    .venv/bin/python bench/suite_speed.py --only sqlite        # a quicker check
    .venv/bin/python bench/suite_speed.py --only sqlite -- tests/test_households.py   # a subset of both

The baseline (default 5840fd8, main on the morning of issue 17) is checked out into a temporary `git worktree`
outside the repo, and both suites run back to back, baseline first, for each database: `python -m pytest`
with the working directory and PYTHONPATH in the tree being measured, so that each, and every process its
tests start, imports its own `app` (checked before the runs: app.__file__ is printed for both), from this
tree's .venv (the baseline's dependencies are a subset of it). The baseline runs as its scripts/test did
(one process); this tree as its scripts/test does (its PARALLEL options, read from the script). Only
pytest is timed: lint and type-checking are the same in both.

PostgreSQL: each suite gets fresh databases on the same server (dropped and created before its run, dropped
after): suite_base for the baseline; suite_new for this tree, whose workers use suite_new_gw0, suite_new_gw1,
… — never the `test` database, which people use meanwhile. The machine's load average is printed with each
run: other work on the machine slows either side, so compare the ratio, from runs taken together.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "5840fd8"
FLOOR = 0.70  # issue 17: the suite at least 30 % faster
KINDS = ("sqlite", "postgresql")
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ (?:passed|failed|error).*?) in (?P<seconds>[0-9.]+)s", re.M)


@dataclass
class Run:
    kind: str
    tree: str  # "baseline" or "new"
    seconds: float
    returncode: int
    outcome: str  # pytest's last line: "930 passed, 2 failed"
    load_before: float
    load_after: float
    log: str


def say(message: str) -> None:
    print(message, flush=True)


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def parallel_options() -> list[str]:
    """The options scripts/test gives pytest (its PARALLEL array), as the shell reads them."""
    script = (ROOT / "scripts" / "test").read_text()
    line = next((ln for ln in script.splitlines() if ln.startswith("PARALLEL=(")), None)
    if line is None:
        return []
    words = subprocess.run(
        ["bash", "-c", f'{line}\nprintf "%s\\n" "${{PARALLEL[@]}}"'],
        check=True,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "SHOUWANG_TEST_WORKERS"},
    ).stdout
    return words.splitlines()


def clean_env(tree: Path, database_url: str) -> dict[str, str]:
    """The caller's environment without the project's, pytest's or xdist's own settings; PYTHONPATH is the
    tree, so that the processes the tests start (benchmarks, the CLI) import its `app` too, not the one
    installed in the .venv."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SHOUWANG_", "PYTEST_", "OMP_", "OPENBLAS_"))
    }
    env["PYTHONPATH"] = str(tree)
    env["SHOUWANG_TEST_DATABASE_URL"] = database_url
    return env


def app_file(tree: Path) -> str:
    """Which `app` a process started in the tree's run imports (from another working directory)."""
    return subprocess.run(
        [sys.executable, "-c", "import app; print(app.__file__)"],
        cwd=tempfile.gettempdir(),
        env=clean_env(tree, ""),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def fresh_databases(server: str, name: str) -> str:
    """Drop `name` and the databases named after it (xdist workers', tests' scratch ones), create `name`."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            stale = connection.execute(
                text("SELECT datname FROM pg_database WHERE datname = :name OR datname LIKE :prefix"),
                {"name": name, "prefix": name.replace("_", r"\_") + r"\_%"},
            ).scalars()
            for database in list(stale):
                connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_databases(server: str, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT datname FROM pg_database WHERE datname = :name OR datname LIKE :prefix"),
                {"name": name, "prefix": name.replace("_", r"\_") + r"\_%"},
            ).scalars()
            for database in list(found):
                connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run_suite(kind: str, tree: str, cwd: Path, options: list[str], database_url: str, logs: Path) -> Run:
    log = logs / f"{kind}-{tree}.log"
    command = [sys.executable, "-m", "pytest", *options]
    say(f"== {kind}, {tree}: {' '.join(command[1:])} (in {cwd})")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.run(
            command,
            cwd=cwd,
            env=clean_env(cwd, database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.perf_counter() - started
    output = log.read_text(errors="replace")
    found = SUMMARY.findall(output)
    outcome = found[-1][0] if found else "no summary (see the log)"
    run = Run(kind, tree, seconds, process.returncode, outcome, load_before, os.getloadavg()[0], str(log))
    say(f"   {seconds:.1f} s: {outcome} (load {run.load_before:.1f} -> {run.load_after:.1f}); log: {log}")
    return run


def measure(args: argparse.Namespace) -> list[Run]:
    commit = git("rev-parse", "--verify", f"{args.baseline}^{{commit}}")
    head = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    say(f"baseline {args.baseline} ({commit[:10]}: {git('log', '-1', '--format=%s', commit)[:80]})")
    say(f"new: this tree, {ROOT} at {head}{' with uncommitted changes' if dirty else ''}")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="shouwang-suite-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    baseline = work / "baseline"
    if baseline.exists():
        git("worktree", "remove", "--force", str(baseline))
    git("worktree", "add", "--detach", str(baseline), commit)
    runs: list[Run] = []
    try:
        for tree, path in (("baseline", baseline), ("new", ROOT)):
            where = app_file(path)
            say(f"{tree} imports app from {where}")
            if not Path(where).resolve().is_relative_to(path.resolve()):
                raise SystemExit(f"the {tree} run would import another tree's app ({where})")
        new_options = parallel_options()
        say(f"the new tree runs with scripts/test's options: {' '.join(new_options) or '(none)'}")
        say(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for kind in args.only or KINDS:
            for tree, path, options, name in (
                ("baseline", baseline, [], f"{args.pg_prefix}_base"),
                ("new", ROOT, new_options, f"{args.pg_prefix}_new"),
            ):
                url = fresh_databases(args.pg_server, name) if kind == "postgresql" else ""
                try:
                    runs.append(run_suite(kind, tree, path, [*options, *args.pytest_args], url, logs))
                finally:
                    if kind == "postgresql" and not args.keep:
                        drop_databases(args.pg_server, name)
    finally:
        if args.keep:
            say(f"kept the baseline worktree: {baseline}")
        else:
            git("worktree", "remove", "--force", str(baseline))
            git("worktree", "prune")
    say(f"logs: {logs}")
    return runs


def report(runs: Sequence[Run], floor: float) -> tuple[str, bool]:
    by = {(r.kind, r.tree): r for r in runs}
    kinds = [k for k in KINDS if (k, "baseline") in by and (k, "new") in by]
    lines = ["| database | baseline | new | new ÷ baseline |", "|---|---|---|---|"]
    for kind in kinds:
        base, new = by[kind, "baseline"], by[kind, "new"]
        lines.append(
            f"| {kind} | {base.seconds:.0f} s | {new.seconds:.0f} s | {new.seconds / base.seconds:.2f} |"
        )
    base_total = sum(by[k, "baseline"].seconds for k in kinds)
    new_total = sum(by[k, "new"].seconds for k in kinds)
    ratio = new_total / base_total if base_total else float("nan")
    lines.append(f"| total | {base_total:.0f} s | {new_total:.0f} s | **{ratio:.2f}** |")
    lines.append("")
    for run in runs:
        lines.append(
            f"{run.kind}, {run.tree}: {run.outcome}, exit {run.returncode}; "
            f"load average {run.load_before:.1f} before, {run.load_after:.1f} after"
        )
    met = ratio <= floor
    lines.append(f"\nfloor: new ÷ baseline ≤ {floor:.2f} — {'met' if met else 'NOT met'} ({ratio:.2f})")
    return "\n".join(lines), met


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default=BASELINE, help="the git ref to compare with")
    parser.add_argument("--only", choices=KINDS, action="append", help="run on this database only")
    parser.add_argument("--pg-server", default=PG_SERVER, help="a URL of the server's maintenance database")
    parser.add_argument("--pg-prefix", default="suite", help="databases PREFIX_base and PREFIX_new[_gwN]")
    parser.add_argument("--workdir", help="where the baseline worktree and the logs go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the baseline worktree and the databases")
    parser.add_argument("--floor", type=float, default=FLOOR)
    parser.add_argument("--json", action="store_true", help="also print the runs as JSON")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to both pytest runs (a subset)")
    args = parser.parse_args(argv)
    if "test" in (f"{args.pg_prefix}_base", f"{args.pg_prefix}_new"):
        parser.error("the `test` database is not the benchmark's")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("git") is None:
        raise SystemExit("git is needed")
    runs = measure(args)
    table, met = report(runs, args.floor)
    say("\n" + table)
    if args.json:
        payload: dict[str, Any] = {"runs": [asdict(r) for r in runs], "floor": args.floor}
        say(json.dumps(payload, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
