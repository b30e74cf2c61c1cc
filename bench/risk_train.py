"""`shouwang risk train` on a large district: wall time and peak memory (issue 18: ≤ 60 s, ≤ 1 GiB at
200,000 households).

    .venv/bin/python bench/risk_train.py --households 200000 --repeats 2

The district is bench/scoring_floor.py's (12 quarterly reports, built once, dump in /work/bench-data).
Each run trains on a fresh copy of it (`CREATE DATABASE … TEMPLATE`, dropped after), so every run is a
district's first training, as `shouwang risk train` would do it: the command runs in a child process, which
reports its own time after its imports and its peak RSS (VmHWM); the wall time includes the imports.
Printed: each run, the medians, and what training recorded (examples, champion, its recall interval).
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import risk_scoring as district_bench  # noqa: E402
from bench import scoring_floor  # noqa: E402

say = district_bench.say
TRAIN = (
    "import json, sys, time\n"
    "from app.cli import main\n"
    "import app.risk.training  # the command's own imports, outside the timing\n"
    "started = time.perf_counter()\n"
    "main(['risk', 'train'], standalone_mode=False)\n"
    "hwm = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024\n"
    "print(json.dumps({'work_s': time.perf_counter() - started, 'rss_mib': hwm}), file=sys.stderr)\n"
)


def fresh_copy(source: str, name: str) -> str:
    admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    admin.dispose()
    url = district_bench.PG_SERVER + name
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE risk_model SET status = 'retired' WHERE status = 'active'"))
    engine.dispose()
    return url


def drop(name: str) -> None:
    admin = create_engine(district_bench.PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def train_once(url: str) -> dict[str, Any]:
    env = {**__import__("os").environ, "SHOUWANG_DATABASE_URL": url, "SHOUWANG_DEMO_HOUSEHOLDS": "0"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", TRAIN], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"risk train failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    reported: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT id, status, champion, examples_train, decision FROM risk_model "
                "ORDER BY id DESC LIMIT 1"
            )
        ).one()
    engine.dispose()
    return {
        "wall_s": wall,
        "s": reported["work_s"],
        "rss_mib": reported["rss_mib"],
        "model": {"status": row.status, "champion": row.champion, "examples_train": row.examples_train},
        "decision": row.decision,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=district_bench.DEFAULT_DATA_DIR)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    district = scoring_floor.district_q12(args.households, args.data_dir)
    scoring_floor.prepare(district, args.households, 20_000, 1)
    district_bench.dispose()
    name = f"{district.name}_train"
    runs = []
    try:
        for n in range(args.repeats):
            url = fresh_copy(district.name, name)
            run = train_once(url)
            say(
                f"  run {n + 1}: {run['s']:.1f} s training ({run['wall_s']:.1f} s with the imports), "
                f"peak RSS {run['rss_mib']:.0f} MiB; {run['model']}"
            )
            runs.append(run)
    finally:
        drop(name)
    seconds = statistics.median(r["s"] for r in runs)
    rss = max(r["rss_mib"] for r in runs)
    command = ".venv/bin/python bench/risk_train.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"\ncommand: {command}")
    print(f"district: {district.name} ({args.households:,} households × 12 quarterly reports)")
    print("| figure | median | runs | target |")
    print("|---|---|---|---|")
    times = ", ".join(f"{r['s']:.1f}" for r in runs)
    peaks = ", ".join(f"{r['rss_mib']:.0f} MiB" for r in runs)
    print(f"| `shouwang risk train`, training | **{seconds:.1f} s** | {times} | ≤ 60 s |")
    print(f"| peak RSS (the command's process) | **{rss / 1024:.2f} GiB** | {peaks} | ≤ 1 GiB |")
    print(f"decision: {runs[-1]['decision']}")
    if args.json:
        print(json.dumps({"command": command, "runs": runs, "median_s": seconds, "peak_rss_mib": rss}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
