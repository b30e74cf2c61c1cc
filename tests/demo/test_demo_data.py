"""Demo data: two generations at once both finish (a demo server and `shouwang demo-data` together)."""

import threading

from sqlalchemy import func, select

from app import db
from app.config import Settings
from app.demo import district as demo
from app.models import Household


def test_two_demo_data_runs_at_once_both_finish(settings: Settings) -> None:
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            with db.session_scope() as session:
                demo.generate(session, settings, households=20, seed=seed, quarter_count=1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 40
