"""How many households scoring asks the district to look at: the demo district (scripts/demo's 3,000
households, seed 1, three years of quarterly reports) in a scratch SQLite file, the model trained as the
demo trains it, one scoring run; the share flagged high and medium, and which reasons fire.

    .venv/bin/python bench/flag_share.py                       # the demo district, as README reports it
    .venv/bin/python bench/flag_share.py --rules-only          # the rules alone (no model trained)
    .venv/bin/python bench/flag_share.py --households 20000    # a larger district, same generator
"""

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules-only", action="store_true", help="score without training the model")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="shouwang-share-"))
    os.environ["SHOUWANG_DATABASE_URL"] = f"sqlite:///{scratch / 'district.db'}"
    os.environ.setdefault("SHOUWANG_ENV", "demo")

    from alembic import command
    from sqlalchemy import select

    from app.clock import local_today
    from app.config import get_settings
    from app.db import get_sessionmaker, session_scope
    from app.demo import district as demo
    from app.demo import regions as demo_regions
    from app.models import RiskResult
    from app.risk import model, scorer, training
    from app.services.platform.health import alembic_config

    settings = get_settings()
    config = alembic_config(settings.database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
    with session_scope() as session:
        demo_regions.ensure_regions(session, settings)
        demo.generate(session, settings, households=args.households, seed=args.seed)
    if not args.rules_only:
        try:
            training.train(get_sessionmaker(), settings, triggered_by="bench")
        except model.ColdStart:
            pass
    run = scorer.score_all(get_sessionmaker(), settings, as_of=local_today(), triggered_by="bench")
    with session_scope() as session:
        rows = session.execute(
            select(RiskResult.level, RiskResult.reasons).where(RiskResult.run_id == run.id)
        ).all()
    n = len(rows)
    levels = collections.Counter(level for level, _ in rows)
    reasons: collections.Counter[str] = collections.Counter()
    only: collections.Counter[str] = collections.Counter()
    for level, found in rows:
        codes = {r["code"] for r in found}
        reasons.update(codes)
        if level in ("high", "medium") and len(codes) == 1:
            only.update(codes)
    flagged = levels["high"] + levels["medium"]
    print(f"{n} households, mode {run.mode}, as of {local_today()}")
    for level in ("high", "medium"):
        print(f"{level}: {levels[level]} ({levels[level] / n:.1%})")
    print(f"flagged high or medium: {flagged} ({flagged / n:.1%})")
    print("reasons (households with the reason; with it alone among the flagged):")
    for code, count in reasons.most_common():
        print(f"  {code:<22} {count:>6} ({count / n:.1%})   alone {only[code]}")


if __name__ == "__main__":
    main()
