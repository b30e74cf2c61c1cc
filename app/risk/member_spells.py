"""Members as the panel needs them: one row per spell of constant facts.

A member's dated facts (member_fact: health, labour capacity, schooling, 低保/特困) change over time, and
the panel's member aggregates (app/risk/panel.py member_values) count a row on a day when the day falls
in [joined, left). So each member becomes consecutive rows whose joined/left are the days its facts
changed, bounded by its own joining and leaving: on any day at most one of them counts, with the facts
that held that day. A period's features therefore see the members as they were on its end, and a
scoring run's as they are on its day. Adjacent spells the panel cannot tell apart are merged, and the
common first spell with nothing known yet is folded into the next as its `facts_from`: most members
then stay one row.
"""

from typing import Any

import numpy as np

from app.risk.panel import ALWAYS, NEVER, IntArray

# the panel's fact columns, in the order of a fact's `slot`, with the value of a day with no fact (health:
# Health's index of an illness or disability, -1 for none recorded)
FACT_COLUMNS = (("health", -1.0), ("can_work", np.nan), ("dropped_out", 0.0), ("safety_net", 0.0))
_SPAN = NEVER - ALWAYS + 1  # day numbers are packed with the member's row into one sort key


def spells(members: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """`members`: one row per member, by household (with joined/left day numbers); `facts`: member_id,
    slot (index in FACT_COLUMNS), value, start, end (NEVER: still holds). The members' rows split into
    spells, in the same order, with the FACT_COLUMNS and facts_from filled."""
    count = len(members["id"])
    if not count:
        empty = {name: np.zeros(0, dtype=_dtype(name)) for name, _ in FACT_COLUMNS}
        return members | empty | {"facts_from": members["joined"]}
    joined, left = members["joined"], members["left"]
    member, start, end, slot, value = _facts_of_rows(members, facts)
    start, end = np.maximum(start, joined[member]), np.minimum(end, left[member])
    inside = start < end
    member, start, end, slot, value = member[inside], start[inside], end[inside], slot[inside], value[inside]

    # each member's spells begin on its joining day and on every day one of its facts starts or ends
    point_member = np.concatenate([member, member])
    point_day = np.concatenate([start, end])
    inner = (point_day > joined[point_member]) & (point_day < left[point_member])
    keys = np.sort(
        np.concatenate([np.arange(count) * _SPAN + (joined - ALWAYS), _key(point_member, point_day)[inner]])
    )
    keys = keys[np.append(True, keys[1:] != keys[:-1])]
    owner = keys // _SPAN
    spell_start = keys % _SPAN + ALWAYS
    following = np.append(owner[1:] == owner[:-1], False)
    spell_end = np.where(following, np.append(spell_start[1:], 0), left[owner])

    filled = [np.full(len(keys), default) for _, default in FACT_COLUMNS]
    lo = np.searchsorted(keys, _key(member, start))  # a fact covers the spells lo .. hi - 1
    hi = np.searchsorted(keys, _key(member, end))
    covered = hi - lo
    rows = np.arange(covered.sum()) + np.repeat(lo - (np.cumsum(covered) - covered), covered)
    for index in range(len(FACT_COLUMNS)):
        mine = np.repeat(slot == index, covered)
        filled[index][rows[mine]] = np.repeat(value, covered)[mine]

    # one row per run of spells the panel cannot tell apart
    keep = np.flatnonzero(~(np.append(False, owner[1:] == owner[:-1]) & _same_as_previous(filled)))
    owner, spell_start = owner[keep], spell_start[keep]
    spell_end = spell_end[np.append(keep[1:] - 1, len(keys) - 1)] if len(keep) else spell_end[keep]
    filled = [values[keep] for values in filled]
    # a member's first row, before any of its facts begins (most often: before the day it was recorded),
    # is folded into the next row, which then counts from the joining and holds its facts from its start
    first = np.append(True, owner[1:] != owner[:-1])
    folded = first & np.append(owner[1:] == owner[:-1], False) & _unknown(filled)
    facts_from = spell_start.copy()
    spell_start[1:][folded[:-1]] = spell_start[:-1][folded[:-1]]
    kept = ~folded
    out = {name: values[owner[kept]] for name, values in members.items()}
    out["joined"], out["left"], out["facts_from"] = spell_start[kept], spell_end[kept], facts_from[kept]
    for (name, _), values in zip(FACT_COLUMNS, filled, strict=True):
        out[name] = values[kept].astype(_dtype(name))
    return out


def _unknown(columns: list[Any]) -> Any:
    """Per row: every fact column at its value for no fact."""
    unknown = np.ones(len(columns[0]), dtype=bool)
    for (_, default), values in zip(FACT_COLUMNS, columns, strict=True):
        unknown &= np.isnan(values) if np.isnan(default) else values == default
    return unknown


def _dtype(name: str) -> type[np.int64] | type[np.float64]:
    return np.int64 if name == "health" else np.float64


def _key(member: IntArray, day: IntArray) -> IntArray:
    return member * _SPAN + (day - ALWAYS)


def _facts_of_rows(
    members: dict[str, Any], facts: dict[str, Any]
) -> tuple[IntArray, IntArray, IntArray, IntArray, Any]:
    """The facts of members in the set, each with its member's row (facts ordered by start, so that of
    two overlapping facts of one kind the later one wins)."""
    ids = members["id"]
    by_id = np.argsort(ids, kind="stable")
    pos = np.minimum(np.searchsorted(ids, facts["member_id"], sorter=by_id), max(len(ids) - 1, 0))
    found = ids[by_id[pos]] == facts["member_id"] if len(ids) else np.zeros(len(pos), dtype=bool)
    order = np.argsort(facts["start"][found], kind="stable")
    member = by_id[pos][found][order]
    return (
        member,
        facts["start"][found][order],
        facts["end"][found][order],
        facts["slot"][found][order],
        facts["value"][found][order],
    )


def _same_as_previous(columns: list[Any]) -> Any:
    """Per row: every column equal to the row above's (NaN equal to NaN); False for the first row."""
    same = np.ones(len(columns[0]), dtype=bool)
    for values in columns:
        equal = (values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1]))
        same &= np.append(False, equal)
    return same
