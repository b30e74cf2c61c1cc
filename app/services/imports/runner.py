"""An import from start to end: read the file once to check every row and plan every household (the
dry run stops there), and only if nothing is wrong — or with skip_invalid, for the valid households —
read it again and write, a chunk of households per transaction and a savepoint per household."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from pydantic import ValidationError

from app import bulk
from app.config import Settings
from app.db import Sessions, transaction
from app.errors import AppError
from app.services.imports import apply, bodies, drafts, planning
from app.services.imports.mapping import Mapping
from app.services.imports.rows import Problem, RowParser
from app.services.imports.sources import open_table
from app.services.platform.access import Actor

CHUNK = 100  # households per transaction: the audit chain stays locked until each commit
# the tables an import grows: their statistics are refreshed each time the written households quadruple
WRITTEN_TABLES = ("household", "member", "member_fact", "report", "audit_entry")
FIRST_REFRESH = 500
PROBLEMS_KEPT = 10_000

Opener = Callable[[], AbstractContextManager[IO[bytes]]]
Progress = Callable[[str, int], None]  # (phase, rows done)


@dataclass
class Summary:
    rows: int = 0
    households: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("create", "update", "unchanged", "invalid"), 0)
    )
    members_created: int = 0
    members_updated: int = 0
    reports: int = 0
    monitored: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    warnings: list[Problem] = field(default_factory=list)
    invalid_households: list[str] = field(default_factory=list)
    written: bool = False
    # what each household's first block was counted as: a household found split later is recounted
    first_action: dict[str, str] = field(default_factory=dict)

    def count(self, plan: planning.Plan) -> None:
        self.first_action.setdefault(plan.draft.household_no, plan.action)
        self.households[plan.action] += 1
        if plan.action in ("create", "update"):
            self.members_created += len(plan.new_members)
            self.members_updated += len(plan.member_changes)
            self.reports += plan.report is not None
            self.monitored += plan.monitoring
        for problem in plan.draft.all_problems():
            self.problem_count += 1
            if len(self.problems) < PROBLEMS_KEPT:
                self.problems.append(problem)
        if plan.action == "invalid" and len(self.invalid_households) < PROBLEMS_KEPT:
            self.invalid_households.append(plan.draft.household_no)
        self.warnings.extend(plan.warnings[: max(0, PROBLEMS_KEPT - len(self.warnings))])

    def split(self, parser: RowParser, split: dict[str, tuple[int, int]]) -> None:
        """The first block of each household whose rows came back later is refused too."""
        for number, (first, later) in split.items():
            action = self.first_action.get(number)
            if action is None or action == "invalid":
                continue
            self.households[action] -= 1
            self.households["invalid"] += 1
            self.problem_count += 1
            if len(self.problems) < PROBLEMS_KEPT:
                self.problems.append(parser.problem(first, "household_no", drafts.continued_message(later)))
            if len(self.invalid_households) < PROBLEMS_KEPT:
                self.invalid_households.append(number)
        self.problems.sort(key=lambda p: (p.line, p.letter, p.message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "households": self.households,
            "members_created": self.members_created,
            "members_updated": self.members_updated,
            "reports": self.reports,
            "monitored": self.monitored,
            "problem_count": self.problem_count,
            "problems": [p.as_dict() for p in self.problems],
            "warnings": [p.as_dict() for p in self.warnings],
            "invalid_households": self.invalid_households,
            "written": self.written,
        }


def _chunks(iterator: Iterator[drafts.Draft]) -> Iterator[list[drafts.Draft]]:
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _drafts(
    stream: IO[bytes],
    mapping: Mapping,
    sessions: Sessions,
    summary: Summary,
    split: dict[str, tuple[int, int]],
) -> tuple[RowParser, Iterator[list[drafts.Draft]]]:
    table = open_table(stream, mapping)
    parser = RowParser(mapping, table.letters)
    with transaction(sessions) as session:
        regions = drafts.Regions(session)
    checker = drafts.Checker(parser, regions)

    def parsed() -> Iterator[Any]:
        for row in table.rows:
            summary.rows += 1
            yield parser.parse(row)

    def checked() -> Iterator[drafts.Draft]:
        for draft in drafts.group(parsed(), parser, split):
            checker.check(draft)
            yield draft

    return parser, _chunks(checked())


def run(
    sessions: Sessions,
    settings: Settings,
    importer: Actor,
    opener: Opener,
    mapping: Mapping,
    *,
    dry_run: bool,
    skip_invalid: bool,
    note: str,
    progress: Progress | None = None,
) -> Summary:
    """Check (and unless a dry run, write) the file; the summary says what was or would be done."""
    summary = Summary()
    split: dict[str, tuple[int, int]] = {}  # households whose rows are not together: refused whole
    with opener() as stream:
        parser, chunks = _drafts(stream, mapping, sessions, summary, split)
        for chunk in chunks:
            with transaction(sessions) as session:
                for plan in planning.plan_chunk(session, settings, parser, chunk):
                    summary.count(plan)
            if progress is not None:
                progress("check", summary.rows)
    summary.split(parser, split)
    if dry_run or (summary.problem_count and not skip_invalid):
        return summary
    written = Summary()
    refresh_at = FIRST_REFRESH
    with opener() as stream:
        parser, chunks = _drafts(stream, mapping, sessions, written, split)
        for chunk in chunks:
            with transaction(sessions) as session:
                for plan in planning.plan_chunk(session, settings, parser, chunk):
                    if plan.action in ("create", "update"):
                        _write(session, settings, importer, plan, parser, note)
                    written.count(plan)
            if written.households["create"] >= refresh_at:
                _refresh(sessions)
                refresh_at *= 4
            if progress is not None:
                progress("write", written.rows)
    if written.households["create"] + written.households["update"]:
        _refresh(sessions)  # what comes next (scoring, lists) plans on the tables as they now are
    written.written = True
    return written


def _refresh(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        bulk.refresh_statistics(session, WRITTEN_TABLES)


def _write(
    session: Any, settings: Settings, importer: Actor, plan: planning.Plan, parser: RowParser, note: str
) -> None:
    """One household in its own savepoint: refused by a service rule, it is left out whole."""
    savepoint = session.begin_nested()
    try:
        apply.apply(session, settings, importer, plan, note)
    except AppError as exc:
        savepoint.rollback()
        for error in exc.errors or [exc]:
            name = (error.field or "household_no").split(".")[-1].split("[")[0]
            plan.draft.problems.append(parser.problem(plan.draft.first_line, name, error.message))
        plan.action = "invalid"
        return
    except ValidationError as exc:  # a body the check let through: the household is left out, not the file
        savepoint.rollback()
        for name, message in bodies.refusals(exc, "household_no"):
            plan.draft.problems.append(parser.problem(plan.draft.first_line, name, message))
        plan.action = "invalid"
        return
    savepoint.commit()
