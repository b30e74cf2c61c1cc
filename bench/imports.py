"""Benchmark: importing a district's national-system export (acceptance 5 of the data in/out issue).

A file of N person rows in the shipped mapping's layout (app/demo/national_file.py: three-person
households, a fifth monitored, a year's income on every row) is imported into an empty district with
`shouwang import households`, each run in its own process so that its peak RSS is its own:

- the dry run (every row checked, every household planned against the registry, nothing written);
- the import (the same, then every household written through the registry's services, audited);
- the same import again (nothing changes);
- the dry run of a file a tenth the size, to show memory stays flat as the file grows.

The baseline is PostgreSQL's `COPY` of the same rows (the same file as CSV) into a plain table of text
columns: the least any import of these rows can cost. Ratios are import ÷ COPY, from one run.

    .venv/bin/python bench/imports.py --database postgresql --rows 100000

Files are built once into --data-dir (default $TMPDIR/shouwang-bench-imports), outside the repo; the
database (shouwang_bench_import) is made afresh for each import.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "shouwang_bench_import"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def files(rows: int, data_dir: Path) -> tuple[Path, Path]:
    """The N-row file as XLSX (what is imported) and CSV (what COPY reads), built once."""
    from app.demo import national_file

    households = max(1, -(-rows // 3))  # at least the rows asked for
    xlsx, csv = data_dir / f"national_{households * 3}.xlsx", data_dir / f"national_{households * 3}.csv"
    for path in (xlsx, csv):
        if not path.exists():
            say(f"building {path}")
            partial = path.with_suffix(".partial" + path.suffix)
            national_file.write(partial, national_file.rows(households))
            partial.rename(path)
    return xlsx, csv


def fresh_database(kind: str, data_dir: Path) -> str:
    """An empty district: the schema and the county's regions, no household."""
    if kind == "sqlite":
        path = data_dir / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False)
    for args in (["migrate"], ["regions", "import", str(ROOT / "app" / "data" / "hongta_regions.csv")]):
        subprocess.run(
            [sys.executable, "-m", "app.cli", *args], check=True, env=_env(url), capture_output=True
        )
    return url


def _env(url: str) -> dict[str, str]:
    return os.environ | {
        "SHOUWANG_DATABASE_URL": url,
        "SHOUWANG_DEMO_HOUSEHOLDS": "0",
        "PYTHONPATH": str(ROOT),
    }


def child(url: str, path: Path, *options: str) -> dict[str, Any]:
    """One `shouwang import households` in its own process: wall seconds, peak RSS and its report."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(path), *options],
        env=_env(url),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"the import printed nothing: {done.stderr[-2000:]}")
    measured = json.loads(lines[-1])
    report = json.loads(lines[0])
    return {"s": seconds, "rss_mib": measured["rss_mib"], "exit": measured["exit"], "report": _brief(report)}


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    keep = ("rows", "households", "members_created", "reports", "monitored", "problem_count", "written")
    return {k: report[k] for k in keep}


def run_child(argv: Sequence[str]) -> None:
    """Inside the child: run the command, then print the peak RSS (in MiB) as the last line."""
    from app.cli import main

    code = 0
    try:
        main.main(["import", "households", *argv, "--json"], standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps({"rss_mib": round(peak, 1), "exit": code}), flush=True)


def copy_baseline(url: str, csv_path: Path, repeats: int) -> list[float]:
    """COPY of the same rows into a plain table of text columns (median of `repeats`)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    header = csv_path.open(encoding="utf-8-sig").readline().rstrip("\n").split(",")
    columns = ", ".join(f"c{i} text" for i in range(len(header)))
    times = []
    with psycopg.connect(dsn, autocommit=True) as connection:
        for _ in range(repeats):
            connection.execute("DROP TABLE IF EXISTS import_baseline")
            connection.execute(f"CREATE TABLE import_baseline ({columns})")
            started = time.perf_counter()
            with (
                connection.cursor() as cursor,
                cursor.copy("COPY import_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
                csv_path.open("rb") as stream,
            ):
                while block := stream.read(1 << 20):
                    copy.write(block)
            times.append(time.perf_counter() - started)
        count = connection.execute("SELECT count(*) FROM import_baseline").fetchone()
        connection.execute("DROP TABLE import_baseline")
    say(f"  COPY loaded {count[0] if count else 0} rows")
    return times


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = args.data_dir or Path(tempfile.gettempdir()) / "shouwang-bench-imports"
    data_dir.mkdir(parents=True, exist_ok=True)
    xlsx, csv_path = files(args.rows, data_dir)
    small, _ = files(max(3, args.rows // 10), data_dir)
    result: dict[str, Any] = {
        "database": args.database,
        "rows": args.rows,
        "file_mib": xlsx.stat().st_size / 2**20,
    }
    url = fresh_database(args.database, data_dir)
    if args.database == "postgresql":
        say("COPY baseline")
        copies = copy_baseline(url, csv_path, args.repeats)
        result["copy_s"] = sorted(copies)[len(copies) // 2]
        result["copy_runs"] = copies
    say("dry run (small file)")
    result["dry_small"] = child(url, small, "--dry-run")
    say("dry run")
    result["dry"] = child(url, xlsx, "--dry-run")
    say("import")
    result["import"] = child(url, xlsx)
    say("import again")
    result["again"] = child(url, xlsx)
    return result


def report(result: dict[str, Any]) -> str:
    rows = result["dry"]["report"]["rows"]  # the file's own count (whole households of three)
    lines = [f"{rows:,} person rows ({result['file_mib']:.1f} MiB XLSX), {result['database']}:", ""]
    lines.append("| step | s | rows/s | peak RSS MiB | ratio to COPY |")
    lines.append("|---|---|---|---|---|")
    copy = result.get("copy_s")
    for key, label in (("dry", "dry run"), ("import", "import"), ("again", "import again (unchanged)")):
        step = result[key]
        ratio = f"{step['s'] / copy:.0f}×" if copy else "—"
        lines.append(
            f"| {label} | {step['s']:.1f} | {rows / step['s']:,.0f} | {step['rss_mib']:.0f} | {ratio} |"
        )
    if copy:
        lines.append(f"| COPY of the same rows (baseline) | {copy:.2f} | {rows / copy:,.0f} | — | 1 |")
    small = result["dry_small"]
    lines += [
        "",
        f"peak RSS of the dry run: {small['rss_mib']:.0f} MiB at {small['report']['rows']:,} rows, "
        f"{result['dry']['rss_mib']:.0f} MiB at {rows:,} rows "
        f"(ratio {result['dry']['rss_mib'] / small['rss_mib']:.2f})",
        f"import: {json.dumps(result['import']['report'], ensure_ascii=False)}",
        f"again: {json.dumps(result['again']['report'], ensure_ascii=False)}",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rows", type=int, default=100_000, help="person rows in the file (3 per household)")
    parser.add_argument("--repeats", type=int, default=3, help="COPY runs (the median is the baseline)")
    parser.add_argument("--data-dir", type=Path, default=None, help="where the files live (outside the repo)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    if args.rows < 3 or args.repeats < 1:
        parser.error("--rows must be at least 3 and --repeats positive")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:
        run_child(argv[1:])
        return
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
