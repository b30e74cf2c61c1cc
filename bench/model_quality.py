"""The early-warning model against its baselines on a generated district (issue 3, acceptance 3).

    .venv/bin/python bench/model_quality.py --households 20000 --seed 11

Builds the district in a fresh SQLite file (outside the repo), trains through `shouwang risk train`
and reports, from the stored evaluation, whether the model beats every baseline at the 10 % budget.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOUWANG = [sys.executable, "-m", "app.cli"]
BASELINES = ("rules", "distance_to_line", "logistic_regression")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--years", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shouwang-model-") as tmp:
        env = os.environ | {"SHOUWANG_DATABASE_URL": f"sqlite:///{tmp}/district.db"}
        started = time.perf_counter()
        for command in (
            ["migrate"],
            [
                "demo-data",
                "--households",
                str(args.households),
                "--seed",
                str(args.seed),
                "--years",
                str(args.years),
            ],
        ):
            subprocess.run([*SHOUWANG, *command], env=env, cwd=ROOT, check=True, capture_output=True)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        train = subprocess.run(
            [*SHOUWANG, "risk", "train"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        trained = time.perf_counter() - started
        print(train.stdout)
        if train.returncode != 0:
            print(train.stderr, file=sys.stderr)
            sys.exit(train.returncode)
        evaluation = _stored_evaluation(env)
    recall = evaluation["model"]["metrics"]["recall_at_10"]["value"]
    beaten = {name: evaluation["baselines"][name]["metrics"]["recall_at_10"]["value"] for name in BASELINES}
    print(f"generated in {generated:.0f} s, trained and evaluated in {trained:.0f} s")
    print(f"recall at 10 %: model {recall:.3f}; " + ", ".join(f"{k} {v:.3f}" for k, v in beaten.items()))
    verdict = all(recall > value for value in beaten.values())
    print("model beats every baseline at the 10 % budget:", "yes" if verdict else "NO")
    sys.exit(0 if verdict else 1)


def _stored_evaluation(env: dict[str, str]) -> dict[str, Any]:
    script = (
        "import json\n"
        "from sqlalchemy import select\n"
        "from app.db import session_scope\n"
        "from app.models import RiskModel\n"
        "with session_scope() as s:\n"
        "    m = s.scalars(select(RiskModel).order_by(RiskModel.id.desc())).first()\n"
        "    print(json.dumps(m.evaluation))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


if __name__ == "__main__":
    main()
