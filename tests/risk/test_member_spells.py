"""A member becomes one panel row per spell of constant facts, bounded by its joining and leaving: on any
day exactly one row counts while the member lives in the household, with the facts that held that day."""

from datetime import date

import numpy as np

from app.models.enums import Health
from app.risk import panel as pn
from app.risk.member_spells import spells

HEALTH = {h: float(i) for i, h in enumerate(Health)}


def day(y: int, m: int, d: int) -> int:
    return date(y, m, d).toordinal()


def test_a_member_splits_at_each_change_and_counts_once_on_every_day() -> None:
    members = {
        "id": np.array([7, 9]),
        "hh": np.array([0, 0]),
        "joined": np.array([day(2020, 1, 1), pn.ALWAYS]),
        "left": np.array([day(2025, 1, 1), pn.NEVER]),
        "birth": np.array([day(1970, 1, 1), day(1972, 1, 1)]),
        "insured": np.array([1.0, np.nan]),
    }
    facts = {  # member 7: healthy, then seriously ill; works from 2019 (before joining); 低保 for a while
        "member_id": np.array([7, 7, 7, 7, 7]),
        "slot": np.array([0, 0, 1, 3, 2]),
        "value": np.array([HEALTH[Health.healthy], HEALTH[Health.serious_illness], 1.0, 1.0, 1.0]),
        "start": np.array(
            [day(2021, 1, 1), day(2023, 6, 1), day(2019, 1, 1), day(2022, 1, 1), day(2026, 1, 1)]
        ),
        "end": np.array([day(2023, 6, 1), pn.NEVER, pn.NEVER, day(2024, 1, 1), pn.NEVER]),
    }
    rows = spells(members, facts)
    assert rows["id"].tolist() == [7, 7, 7, 7, 7, 9]
    assert [date.fromordinal(d) for d in rows["joined"][:5]] == [
        date(2020, 1, 1),
        date(2021, 1, 1),
        date(2022, 1, 1),
        date(2023, 6, 1),
        date(2024, 1, 1),
    ]
    assert rows["left"][:5].tolist() == [*rows["joined"][1:5].tolist(), day(2025, 1, 1)]
    assert rows["health"].tolist() == [-1, 0, 0, 2, 2, -1]
    assert rows["can_work"][:5].tolist() == [1.0] * 5
    assert np.isnan(rows["can_work"][5])
    assert rows["safety_net"].tolist() == [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    assert rows["dropped_out"].tolist() == [0.0] * 6  # the 2026 fact begins after the member left
    assert rows["insured"][:5].tolist() == [1.0] * 5

    panel = pn.Panel(
        household_ids=np.array([1]),
        township=np.array([0]),
        townships=["t"],
        lifted=np.zeros(1),
        reports={},
        events={},
        members=rows,
    )
    days = np.array([day(y, 7, 1) for y in range(2019, 2027)])
    values = pn.member_values(panel, np.zeros(len(days), dtype=np.int64), days)
    assert values["size"].tolist() == [1, 2, 2, 2, 2, 2, 1, 1]
    assert values["serious"].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]
    assert values["safety_net"].tolist() == [0, 0, 0, 1, 1, 0, 0, 0]


def test_changes_the_panel_cannot_tell_apart_leave_one_row() -> None:
    members = {
        "id": np.array([3]),
        "hh": np.array([0]),
        "joined": np.array([pn.ALWAYS]),
        "left": np.array([pn.NEVER]),
        "birth": np.array([day(1980, 1, 1)]),
        "insured": np.array([1.0]),
    }
    facts = {  # ordinary, then skilled labour: both can work
        "member_id": np.array([3, 3]),
        "slot": np.array([1, 1]),
        "value": np.array([1.0, 1.0]),
        "start": np.array([pn.ALWAYS, day(2024, 1, 1)]),
        "end": np.array([day(2024, 1, 1), pn.NEVER]),
    }
    rows = spells(members, facts)
    assert (rows["joined"].tolist(), rows["left"].tolist(), rows["can_work"].tolist()) == (
        [pn.ALWAYS],
        [pn.NEVER],
        [1.0],
    )


def test_facts_recorded_after_joining_leave_one_row_that_knows_them_from_their_day() -> None:
    """The usual member: living in the household all along, its facts recorded (or migrated) on one day.
    One row counts from the start; the illness counts only from the day it was recorded."""
    members = {
        "id": np.array([5]),
        "hh": np.array([0]),
        "joined": np.array([pn.ALWAYS]),
        "left": np.array([pn.NEVER]),
        "birth": np.array([day(1960, 1, 1)]),
        "insured": np.array([1.0]),
    }
    recorded = day(2026, 3, 2)
    facts = {
        "member_id": np.array([5, 5]),
        "slot": np.array([0, 1]),
        "value": np.array([HEALTH[Health.chronic], 0.0]),
        "start": np.array([recorded, recorded]),
        "end": np.array([pn.NEVER, pn.NEVER]),
    }
    rows = spells(members, facts)
    assert (rows["joined"].tolist(), rows["left"].tolist(), rows["facts_from"].tolist()) == (
        [pn.ALWAYS],
        [pn.NEVER],
        [recorded],
    )
    panel = pn.Panel(
        household_ids=np.array([1]),
        township=np.array([0]),
        townships=["t"],
        lifted=np.zeros(1),
        reports={},
        events={},
        members=rows,
    )
    days = np.array([day(2025, 12, 31), recorded, day(2026, 12, 1)])
    values = pn.member_values(panel, np.zeros(3, dtype=np.int64), days)
    assert values["size"].tolist() == [1, 1, 1]
    assert values["elderly"].tolist() == [1, 1, 1]
    assert values["chronic"].tolist() == [0, 1, 1]
    assert values["known_labour"].tolist() == [0, 1, 1]  # labour unknown before it was recorded
