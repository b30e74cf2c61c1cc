"""A big list's workbook is written by two processes (risk_list_sheets): the same file, byte for byte, as one
process writes; a failure in either fails the export, stops the other process and removes its files."""

import signal
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from app import spawned
from app.cli import main
from app.config import Settings
from app.db import get_sessionmaker
from app.services.lists import risk_list_export, risk_list_sheets, risk_list_workbook, risk_lists
from app.services.lists.risk_list_sheets import Township
from app.services.lists.risk_lists import Filters
from app.services.platform.access import Actor
from tests.fixtures import TOWNSHIP_1, TOWNSHIP_2, VILLAGE_B, VILLAGE_C, Accounts, new_household
from tests.lists import spawned_entries
from tests.lists.test_risk_lists import THIS_WEEK, generate, results


@pytest.fixture
def county_list(client: TestClient, accounts: Accounts, settings: Settings) -> int:
    """This week's list: three households of township 1 (villages A and B), two of township 2."""
    made = [
        new_household(client, accounts["cadre_a"]),
        new_household(client, accounts["cadre_a"]),
        new_household(client, accounts["cadre_b"], village=VILLAGE_B),
        new_household(client, accounts["cadre_c"], village=VILLAGE_C),
        new_household(client, accounts["cadre_c"], village=VILLAGE_C),
    ]
    levels = ["high", "medium", "high", "medium", "high"]
    results({int(h["id"]): level for h, level in zip(made, levels, strict=True)})
    return generate(settings, THIS_WEEK).id


def county() -> Actor:
    from app import db

    with db.session_scope() as session:
        return risk_lists.county_reader(session)


def write(
    path: Path,
    settings: Settings,
    list_id: int,
    progress: list[int] | None = None,
    entry: risk_list_sheets.Entry | None = spawned.township_rows,
) -> None:
    """As the command and the API write it: with the other process's entry point (a stand-in's; None: one
    process)."""
    on_batch = progress.append if progress is not None else None
    sessions = get_sessionmaker()
    risk_list_workbook.write_xlsx(path, sessions, settings, list_id, county(), Filters(), on_batch, entry)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}  # (its time)


def test_two_processes_write_the_workbook_one_process_writes(
    county_list: int, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sharing: list[Any]
) -> None:
    write(tmp_path / "one.xlsx", settings, county_list, entry=None)
    handed: list[list[Township]] = []
    split = risk_list_sheets.split

    def splitting(towns: list[Township]) -> tuple[list[Township], list[Township]]:
        handed.append(split(towns)[1])
        return split(towns)

    monkeypatch.setattr(risk_list_sheets, "split", splitting)
    progress: list[int] = []
    write(tmp_path / "two.xlsx", settings, county_list, progress)
    assert [t.entries for t in handed[0]] == [2]  # township 2's two households, by the other process
    alone, _, other = sharing  # (one.xlsx: no other process; two.xlsx: its folder, then itself)
    assert alone is None
    assert isinstance(other, risk_list_sheets.Other)
    assert other.exitcode == 0  # it wrote them and ended
    assert sum(progress) == 5  # the other process's rows are counted too
    one, two = members(tmp_path / "one.xlsx"), members(tmp_path / "two.xlsx")
    assert len(one) > 10
    assert one == two


def test_the_other_process_takes_the_biggest_townships_its_share_holds() -> None:
    def towns_of(*entries: int) -> list[Township]:
        return [Township(f"53040220{i}000", f"乡{i}", n) for i, n in enumerate(entries)]

    towns = towns_of(20_000, 40_000, 10_000, 30_000)
    ours, theirs = risk_list_sheets.split(towns)
    # at most half of 100,000: the 40,000, not the 30,000 nor the 20,000 (past 50,000), then the 10,000
    assert [t.entries for t in theirs] == [40_000, 10_000]  # in the list's order
    assert [t.entries for t in ours] == [20_000, 30_000]
    assert sorted(ours + theirs, key=lambda t: t.code) == towns
    ours, theirs = risk_list_sheets.split(towns_of(30_000, 60_000, 10_000))
    assert ([t.entries for t in ours], [t.entries for t in theirs]) == ([60_000], [30_000, 10_000])
    assert risk_list_sheets.split(towns[:1]) == (towns[:1], [])  # one township: one process
    small = [Township(t.code, t.name, 100) for t in towns]
    assert risk_list_sheets.split(small) == (small, [])  # a village's list: not worth a second process


@pytest.fixture
def sharing(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every list is big enough to share; what each export's other_process yielded, and its folder."""
    monkeypatch.setattr(risk_list_sheets, "PARALLEL_FROM", 1)
    seen: list[Any] = []
    made = tempfile.TemporaryDirectory
    other_process = risk_list_sheets.other_process

    def folder(prefix: str) -> tempfile.TemporaryDirectory[str]:
        it = made(prefix=prefix)
        seen.append(Path(it.name))
        return it

    @contextmanager
    def watched(*args: Any) -> Iterator[risk_list_sheets.Other | None]:
        with other_process(*args) as other:
            seen.append(other)
            yield other

    monkeypatch.setattr(tempfile, "TemporaryDirectory", folder)
    monkeypatch.setattr(risk_list_sheets, "other_process", watched)
    return seen


def test_a_failure_in_the_other_process_fails_the_export(
    county_list: int, settings: Settings, tmp_path: Path, sharing: list[Any]
) -> None:
    # the other process reads its townships from a database that is not there; this one's are fine
    elsewhere = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'no' / 'such.db'}"})
    with pytest.raises(Exception, match="unable to open database file"):
        write(tmp_path / "list.xlsx", elsewhere, county_list)
    folder, other = sharing
    assert not folder.exists()  # its files, with names and masked ID numbers, are gone
    assert other.exitcode == 0  # it answered with its error and ended
    assert risk_list_sheets._one_at_a_time.acquire(blocking=False)  # the next export may share again
    risk_list_sheets._one_at_a_time.release()


def test_an_other_process_that_dies_fails_the_export_instead_of_waiting(
    county_list: int, settings: Settings, tmp_path: Path, sharing: list[Any]
) -> None:
    with pytest.raises(RuntimeError, match=r"ended without its rows \(exit code 3\)"):
        write(tmp_path / "list.xlsx", settings, county_list, entry=spawned_entries.dies)
    assert not sharing[0].exists()


def test_when_the_export_fails_the_other_process_is_stopped(
    county_list: int, settings: Settings, tmp_path: Path, sharing: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*_: Any, **__: Any) -> Iterator[list[Any]]:
        raise OSError(28, "No space left on device")
        yield []

    monkeypatch.setattr(risk_list_export, "stream", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write(tmp_path / "list.xlsx", settings, county_list, entry=spawned_entries.lingers)
    folder, other = sharing
    assert other.exitcode == -signal.SIGTERM  # stopped, not left to sleep out its minute
    assert not folder.exists()
    assert risk_list_sheets._one_at_a_time.acquire(blocking=False)
    risk_list_sheets._one_at_a_time.release()


def test_the_other_process_removes_the_files_it_wrote_when_it_fails(
    county_list: int, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If its parent is gone, nobody else would: names and masked ID numbers must not stay in /tmp."""
    codes = [TOWNSHIP_1, TOWNSHIP_2]
    written = risk_list_sheets.write_rows(
        get_sessionmaker(), settings, county_list, county(), Filters(), codes, str(tmp_path)
    )
    assert [(w.code, w.rows) for w in written] == [(TOWNSHIP_2, 2), (TOWNSHIP_1, 3)]  # by code
    assert all(w.path.read_text(encoding="utf-8").count("<row ") == w.rows for w in written)
    for w in written:
        w.path.unlink()
    cells = risk_list_export.cells
    calls: list[int] = []

    def failing(row: Any) -> list[Any]:
        calls.append(1)
        if len(calls) == 4:  # the second township's file is open, the first's done
            raise OSError(28, "No space left on device")
        return cells(row)

    monkeypatch.setattr(risk_list_export, "cells", failing)
    with pytest.raises(OSError, match="No space left"):
        risk_list_sheets.write_rows(
            get_sessionmaker(), settings, county_list, county(), Filters(), codes, str(tmp_path)
        )
    assert list(tmp_path.iterdir()) == []


def test_one_other_process_at_a_time_a_second_export_writes_alone(
    county_list: int, settings: Settings, tmp_path: Path, sharing: list[Any]
) -> None:
    write(tmp_path / "one.xlsx", settings, county_list)
    assert sharing[-1] is not None
    assert risk_list_sheets._one_at_a_time.acquire(blocking=False)  # another export's, at work
    try:
        write(tmp_path / "alone.xlsx", settings, county_list)
    finally:
        risk_list_sheets._one_at_a_time.release()
    assert sharing[-1] is None
    assert members(tmp_path / "one.xlsx") == members(tmp_path / "alone.xlsx")


def test_the_api_and_the_command_hand_a_big_lists_townships_to_another_process(
    county_list: int,
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sharing: list[Any],
) -> None:
    started: list[tuple[str, ...]] = []
    start = risk_list_sheets._start

    def starting(entry: risk_list_sheets.Entry, args: tuple[Any, ...]) -> risk_list_sheets.Other | None:
        started.append(args[-2])  # the townships handed over
        return start(entry, args)

    monkeypatch.setattr(risk_list_sheets, "_start", starting)
    response = client.get(
        f"/api/v1/risk-lists/{THIS_WEEK}", headers=accounts["district"], params={"format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    (tmp_path / "api.xlsx").write_bytes(response.content)
    command = ["lists", "export", "--week", THIS_WEEK, "--format", "xlsx"]
    result = CliRunner().invoke(main, [*command, "--out", str(tmp_path / "cli.xlsx")])
    assert result.exit_code == 0, result.output
    assert started == [(TOWNSHIP_2,), (TOWNSHIP_2,)]
    others = [seen for seen in sharing if not isinstance(seen, Path)]
    assert [other.exitcode for other in others] == [0, 0]  # each wrote its township and ended
    for name in ("api.xlsx", "cli.xlsx"):
        book = openpyxl.load_workbook(tmp_path / name)
        rows = [r for ws in book.worksheets[1:] for r in ws.iter_rows(min_row=2, values_only=True)]
        assert len(rows) == 5


def test_an_xlsx_export_holds_one_database_connection_at_a_time(
    client: TestClient, accounts: Accounts, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API process lets in one request per database connection (config.py): a request that held its
    own read open while the workbook read in transactions of its own took two, and eight such exports at
    once would wait on each other until the pool's timeout."""
    generate(settings, THIS_WEEK)
    engine = client.app.state.sessionmaker.kw["bind"]  # type: ignore[attr-defined]
    held: list[int] = []
    write = risk_list_workbook.write_xlsx

    def writing(*args: Any, **kwargs: Any) -> Any:
        held.append(engine.pool.checkedout())
        return write(*args, **kwargs)

    monkeypatch.setattr(risk_list_workbook, "write_xlsx", writing)
    response = client.get(
        f"/api/v1/risk-lists/{THIS_WEEK}", headers=accounts["district"], params={"format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    assert held == [0]
