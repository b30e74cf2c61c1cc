"""A household as the file gives it: its consecutive rows (one per person), the household's values
taken once and checked to agree across its rows, and what a household must satisfy before anything of it
is written: a known village, one head, people in one household only, a category fitting the type, a
complete monitoring record and a complete year of income."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import AppError
from app.models import Region
from app.models.enums import MonitoringCategory, RegionLevel, Relation
from app.services.imports.bodies import household_fields, member_body, refusals
from app.services.imports.mapping import HOUSEHOLD_FIELDS, MEMBER_FIELDS, REPORT_FIELDS
from app.services.imports.rows import ParsedRow, Problem, RowParser
from app.services.registry import monitoring_rules
from app.services.registry.member_rules import member_problems
from app.services.registry.monitored_import import EARLIEST_IDENTIFICATION

SHARED_FIELDS = tuple(f for f in (*HOUSEHOLD_FIELDS, *REPORT_FIELDS) if f != "household_no")
MAX_MEMBERS = 30
INCOME_NEEDED = ("wages", "business", "property", "transfer", "production_cost")


@dataclass(slots=True)
class Draft:
    household_no: str
    rows: list[ParsedRow] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # the household's own and its report's
    problems: list[Problem] = field(default_factory=list)
    village_code: str | None = None

    @property
    def first_line(self) -> int:
        return self.rows[0].line

    @property
    def members(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.values.items() if k in MEMBER_FIELDS} for r in self.rows]

    @property
    def valid(self) -> bool:
        return not self.problems and not any(r.problems for r in self.rows)

    def all_problems(self) -> list[Problem]:
        found = [p for r in self.rows for p in r.problems] + self.problems
        return sorted(found, key=lambda p: (p.line, p.letter, p.message))


class Regions:
    """The county's villages, found by code or by township and village name as the file writes them."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Region.code, Region.name, Region.level, Region.parent_code)).all()
        names = {code: name for code, name, _, _ in rows}
        self.villages = {code for code, _, level, _ in rows if level == RegionLevel.village}
        self.by_names: dict[tuple[str, str], str] = {}
        by_village: dict[str, list[str]] = {}
        for code, name, level, parent in rows:
            if level == RegionLevel.village:
                self.by_names[(names.get(parent or "", ""), name)] = code
                by_village.setdefault(name, []).append(code)
        self.by_village = {name: codes[0] for name, codes in by_village.items() if len(codes) == 1}

    def find(self, values: dict[str, Any]) -> str | None:
        code = values.get("village_code")
        if code is not None:
            return code if code in self.villages else None
        village = values.get("village_name", "")
        township = values.get("township_name")
        if township is not None:
            return self.by_names.get((township, village))
        return self.by_village.get(village)


def group(rows: Iterable[ParsedRow], parser: RowParser, split: dict[str, tuple[int, int]]) -> Iterator[Draft]:
    """Consecutive rows of one household number make one draft. A number met again after another
    household's rows is a problem on every block of it: the later blocks here, and the first through
    `split` (number -> (its first line, the line it came back on)), which this pass fills and the
    writing pass reads, so that no part of a split household is written."""
    finished: dict[str, int] = {}  # household number -> its first line
    current: Draft | None = None
    for row in rows:
        number = row.values.get("household_no")
        if number is None:  # its problem is on the row; it stands alone
            if current is not None:
                yield current
                current = None
            yield Draft("", [row])
            continue
        if current is not None and current.household_no == number:
            _merge(current, row, parser)
            continue
        if current is not None:
            finished.setdefault(current.household_no, current.first_line)
            yield current
        current = Draft(number)
        _merge(current, row, parser)
        if number in finished:
            split.setdefault(number, (finished[number], row.line))
            current.problems.append(
                parser.problem(row.line, "household_no", split_message(number, finished[number]))
            )
        elif number in split:  # known from the checking pass: the first block is refused too
            current.problems.append(
                parser.problem(row.line, "household_no", continued_message(split[number][1]))
            )
    if current is not None:
        yield current


def split_message(number: str, first: int) -> str:
    return f"household {number}'s rows must be together; it began on line {first}"


def continued_message(later: int) -> str:
    return f"this household's rows must be together; they continue on line {later}"


def _merge(draft: Draft, row: ParsedRow, parser: RowParser) -> None:
    # the household's columns repeat on each member's row: a bad value there is reported once
    reported = {p.field for r in draft.rows for p in r.problems if p.field in SHARED_FIELDS}
    row.problems = [p for p in row.problems if p.field not in reported]
    draft.rows.append(row)
    for name in SHARED_FIELDS:
        if name not in row.values:
            continue
        if name not in draft.values:
            draft.values[name] = row.values[name]
            draft.values[f"{name}@line"] = row.line
        elif draft.values[name] != row.values[name]:
            row.problems.append(
                parser.problem(
                    row.line, name, f"differs from line {draft.values[f'{name}@line']} of the same household"
                )
            )


class Checker:
    """The checks of one whole file: the ID numbers seen so far belong to the first household giving them."""

    def __init__(self, parser: RowParser, regions: Regions) -> None:
        self.parser = parser
        self.regions = regions
        self.seen: dict[str, tuple[str, int]] = {}  # ID number -> (household number, line)

    def check(self, draft: Draft) -> None:
        if not draft.household_no:
            return
        problem = self.parser.problem
        first, values = draft.first_line, draft.values
        draft.village_code = self.regions.find(values)
        if draft.village_code is None and ("village_code" in values or "village_name" in values):
            where = "village_code" if "village_code" in values else "village_name"
            draft.problems.append(problem(values[f"{where}@line"], where, "no such village in the county"))
        elif draft.village_code is None:
            draft.problems.append(problem(first, "village_name", "required; the cell is empty"))
        self._household_fields(draft)
        if len(draft.rows) > MAX_MEMBERS:
            draft.problems.append(
                problem(first, "household_no", f"a household has at most {MAX_MEMBERS} members")
            )
        self._people(draft)
        self._monitoring(draft)
        self._income(draft)

    def _household_fields(self, draft: Draft) -> None:
        """Address and phone as the registry keeps them (what the write stores, and compares with)."""
        values = draft.values
        try:
            values.update(household_fields(values))
        except ValidationError as exc:
            for name, message in refusals(exc, "address"):
                line = int(values.get(f"{name}@line", draft.first_line))
                draft.problems.append(self.parser.problem(line, name, message))

    def _people(self, draft: Draft) -> None:
        problem = self.parser.problem
        heads = [r for r in draft.rows if r.values.get("relation") == Relation.head]
        split = any(p.field == "household_no" for p in draft.problems)  # a part: its head may be elsewhere
        if not heads and not split and all("relation" in r.values for r in draft.rows):
            draft.problems.append(problem(draft.first_line, "relation", "the household has no head (户主)"))
        for extra in heads[1:]:
            draft.problems.append(
                problem(extra.line, "relation", f"a second head (户主); the first is on line {heads[0].line}")
            )
        for row in draft.rows:
            number = row.values.get("id_number")
            if number is not None:
                other = self.seen.get(number)
                if other is None:
                    self.seen[number] = (draft.household_no, row.line)
                elif other[0] == draft.household_no:
                    row.problems.append(problem(row.line, "id_number", f"the same person as line {other[1]}"))
                else:
                    row.problems.append(
                        problem(
                            row.line,
                            "id_number",
                            f"the same person is in household {other[0]} (line {other[1]})",
                        )
                    )
            errors: list[AppError] = member_problems(row.values, "")
            for error in errors:
                name = error.field or "name"
                row.problems.append(problem(row.line, name, error.message))
            if not row.problems:  # the registry's own body: what the write would refuse, found now
                try:
                    member_body(row.values)
                except ValidationError as exc:
                    for name, message in refusals(exc, "name"):
                        row.problems.append(
                            problem(row.line, name if name in MEMBER_FIELDS else "name", message)
                        )

    def _monitoring(self, draft: Draft) -> None:
        problem, values, line = self.parser.problem, draft.values, draft.first_line

        def at(name: str) -> int:
            return int(values.get(f"{name}@line", line))

        category = values.get("monitoring_category")
        given = [n for n in ("risk_types", "identified_on", "risk_eliminated_on") if n in values]
        if category is None or category == MonitoringCategory.none:
            if given or values.get("risk_eliminated"):
                draft.problems.append(
                    problem(
                        at(given[0] if given else "risk_eliminated"),
                        "monitoring_category",
                        "a monitoring record needs its category",
                    )
                )
            return
        household_type = values.get("household_type")
        if household_type is not None and not monitoring_rules.category_fits(category, household_type):
            draft.problems.append(
                problem(
                    at("monitoring_category"),
                    "monitoring_category",
                    f"{category.value} does not fit the household type {household_type.value}",
                )
            )
        unreadable = {p.field for r in draft.rows for p in r.problems}
        for name in ("risk_types", "identified_on"):
            if name not in values and name not in unreadable:
                draft.problems.append(
                    problem(at("monitoring_category"), name, "required for a monitored household")
                )
        identified = values.get("identified_on")
        if identified is not None and identified < EARLIEST_IDENTIFICATION:
            draft.problems.append(
                problem(
                    at("identified_on"),
                    "identified_on",
                    f"no household was identified before {EARLIEST_IDENTIFICATION} (the mechanism's start)",
                )
            )
        eliminated, eliminated_on = values.get("risk_eliminated"), values.get("risk_eliminated_on")
        if eliminated and eliminated_on is None:
            draft.problems.append(
                problem(at("risk_eliminated"), "risk_eliminated_on", "required when the risk is eliminated")
            )
        if eliminated_on is not None and not eliminated:
            draft.problems.append(
                problem(at("risk_eliminated_on"), "risk_eliminated", "an elimination date needs 是 here")
            )
        if eliminated_on is not None and identified is not None and eliminated_on < identified:
            draft.problems.append(
                problem(at("risk_eliminated_on"), "risk_eliminated_on", "before the identification date")
            )
        types = values.get("risk_types", [])
        active = [r.values.get("labour_capacity") for r in draft.rows]
        labour = monitoring_rules.labour_problem(types, active)
        if labour:
            draft.problems.append(problem(at("risk_types"), "risk_types", labour))

    def _income(self, draft: Draft) -> None:
        problem, values = self.parser.problem, draft.values
        given = [n for n in REPORT_FIELDS if n in values]
        if not given:
            return
        line = int(values[f"{given[0]}@line"])
        unreadable = {p.field for r in draft.rows for p in r.problems}
        for name in ("income_year", *INCOME_NEEDED):
            if name not in values and name not in unreadable:
                draft.problems.append(problem(line, name, "required with the household's income figures"))
