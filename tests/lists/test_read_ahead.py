"""An export reads its list's next batch while it writes the last (risk_list_export.read_ahead): every
batch arrives in order, a failed read fails the export, and an export left early stops reading."""

import threading
from collections.abc import Iterator

import pytest

from app.services.lists.risk_list_export import read_ahead


def test_every_batch_arrives_in_order_and_is_read_in_another_thread() -> None:
    readers: set[str] = set()

    def batches() -> Iterator[list[int]]:
        for n in range(50):
            readers.add(threading.current_thread().name)
            yield [n, n + 1]

    assert list(read_ahead(batches())) == [[n, n + 1] for n in range(50)]
    assert readers == {"list-export-reader"}


def test_a_failed_read_fails_the_export_after_the_batches_read_before() -> None:
    def batches() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("the connection was lost")

    export = read_ahead(batches())
    assert [next(export), next(export)] == [1, 2]
    with pytest.raises(RuntimeError, match="connection was lost"):
        next(export)


def test_an_export_left_early_stops_reading_and_closes_the_read() -> None:
    """A client gone after the first batch: the reading generator is closed (its transaction ends) and no
    more than the read-ahead's depth is read past what was written."""
    read: list[int] = []
    closed = threading.Event()

    def batches() -> Iterator[int]:
        try:
            for n in range(1000):
                read.append(n)
                yield n
        finally:
            closed.set()

    export = read_ahead(batches(), depth=2)
    assert next(export) == 0
    export.close()
    assert closed.is_set()
    assert len(read) <= 4
    assert not any(t.name == "list-export-reader" for t in threading.enumerate())
