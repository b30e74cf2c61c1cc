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


def test_the_demo_members_facts_hold_from_birth(settings: Settings) -> None:
    """A generated person's health and labour are drawn once and shape every simulated period: their
    facts hold from birth, as the member's fields show them."""
    from app.models import Member, MemberFact
    from app.services.registry.member_facts import DATED_FIELDS, as_text

    with db.session_scope() as session:
        demo.generate(session, settings, households=20, seed=4, quarter_count=8)
        members = session.scalars(select(Member)).all()
        facts = session.execute(
            select(MemberFact.member_id, MemberFact.fact, MemberFact.value, MemberFact.valid_from)
        ).all()
        assert all(to is None for to in session.scalars(select(MemberFact.valid_to)))
        expected = {
            (m.id, name, as_text(getattr(m, name)), m.birth_date)
            for m in members
            for name in DATED_FIELDS
            if getattr(m, name) is not None
        }
    assert {(m, str(f), v, since) for m, f, v, since in facts} == expected
    assert {f for _, f, _, _ in facts} >= {"health", "labour_capacity", "schooling"}
