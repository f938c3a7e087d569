"""A grouped Parquet file read in tasks of ranges: each row group decoded once, the same parts."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections import Counter
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import slaengine.batches.runner as batch_module  # noqa: E402 - after the skip
from slaengine.batches import map_tickets  # noqa: E402
from slaengine.inputs import parquet  # noqa: E402
from slaengine.inputs.parquet_parts import (  # noqa: E402
    parquet_ranges,
    parquet_tasks,
    read_parts,
    read_ranges,
    read_rows,
    row_tasks,
)
from slaengine.inputs.synthetic import write_jsonl  # noqa: E402
from slaengine.timeline import TimelineSet  # noqa: E402

START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
ROWS = 8_000
GROUP = 3_000  # rows per row group: three ranges' worth, with 8 partitions


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The first 8,000 events of synthetic tickets, ticket by ticket, with two bad rows."""
    path = tmp_path_factory.mktemp("grouped") / "events.jsonl"
    write_jsonl(path, 1_000, 11, START, 60)
    found = [json.loads(line) for line in path.read_text().splitlines()][:ROWS]
    found.insert(2_000, {"at": "2025-10-01T00:00:00Z", "type": "status", "status": "open"})
    found.insert(5_000, {"ticket": "", "at": "x", "type": "status"})
    return found


def _write(path: Path, rows: list[dict]) -> Path:
    keys = sorted({key for row in rows for key in row} - {"fields", "tags"})
    table = pa.table({key: [row.get(key) for row in rows] for key in keys})
    pq.write_table(table, path, row_group_size=GROUP)
    return path


def _summary(timelines: TimelineSet) -> list[tuple[str, tuple[int, ...]]]:
    return sorted(
        (ticket, tuple(e.line for e in timeline.events))
        for ticket, timeline in timelines.timelines.items()
    )


def _same(one: TimelineSet, other: TimelineSet) -> bool:
    return (
        one.timelines == other.timelines
        and one.problems == other.problems
        and one.duplicates == other.duplicates
    )


def test_ranges_of_a_large_row_group_share_a_task(tmp_path: Path, rows: list[dict]):
    path = _write(tmp_path / "g.parquet", rows)
    ranges = parquet_ranges(path, 8)
    assert ranges is not None
    assert len(ranges) >= 8
    tasks = row_tasks(ranges)
    # Every range once, in order; a task starts in the first rows of a row group.
    assert [part for task in tasks for part in task.parts] == ranges
    assert len(tasks) < len(ranges)
    group_starts = range(0, len(rows), GROUP)
    for task in tasks:
        start = task.parts[0].start
        assert start - max(g for g in group_starts if g <= start) < 100
    # With workers, no task holds more than its share of the ranges.
    shared = row_tasks(ranges, jobs=4)
    assert [part for task in shared for part in task.parts] == ranges
    assert max(len(task.parts) for task in shared) <= -(-len(ranges) // 8)


def test_a_row_group_a_little_larger_than_a_range_stays_whole(tmp_path: Path, rows: list[dict]):
    # Ranges of 2,668 rows (3 chunks of 8,002) and row groups of 3,000: each row group is one
    # range, not two halves; a row group of about twice a range is still cut in two.
    path = _write(tmp_path / "g.parquet", rows)
    ranges = parquet_ranges(path, 3)
    assert ranges is not None
    assert len(ranges) == 3
    assert len(_reads(path, 3, jobs=2)) == 3
    # Ranges of 1,601 rows: the row groups of 3,000 in two, the last one (2,002 rows) whole.
    assert len(_reads(path, 5)) == 5


def test_a_task_gives_each_range_as_read_alone(tmp_path: Path, rows: list[dict], monkeypatch):
    path = _write(tmp_path / "g.parquet", rows)
    ranges = parquet_ranges(path, 8)
    assert ranges is not None
    alone = [read_rows(part, "g", {}) for part in ranges]
    # Each row group is decoded by one task (and its first rows by the task before), not
    # once per range in it: ranges read alone decode it from its start three times.
    opened: Counter[int] = Counter()
    iter_batches = parquet._ParquetInput.iter_batches

    def counted(self, **kwargs):
        opened[kwargs["row_groups"][0]] += 1
        return iter_batches(self, **kwargs)

    monkeypatch.setattr(parquet._ParquetInput, "iter_batches", counted)
    together = [found for task in row_tasks(ranges) for found in read_parts(task, "g", {})]
    assert len(together) == len(alone)
    assert all(_same(a, b) for a, b in zip(alone, together, strict=True))
    assert sorted(opened) == list(range(-(-len(rows) // GROUP)))
    assert max(opened.values()) <= 2
    lines = sorted(p.line for found in together for p in found.problems)
    assert 2_001 in lines
    assert 5_001 in lines


@pytest.mark.parametrize("jobs", [1, 2])
def test_tasks_give_what_the_spill_gives(tmp_path: Path, rows: list[dict], jobs: int, monkeypatch):
    path = _write(tmp_path / "g.parquet", rows)
    tasked = map_tickets(path, _summary, jobs=jobs, partitions=8)
    assert tasked.partitions == len(tasked.results) >= 8
    monkeypatch.setattr(batch_module, "parquet_tasks", lambda path, count, jobs: None)
    spilled = map_tickets(path, _summary, jobs=jobs, partitions=8)
    assert sorted(t for part in tasked.results for t in part) == sorted(
        t for part in spilled.results for t in part
    )
    assert tasked.problems == spilled.problems
    assert [p.line for p in tasked.problems][:2] == [2_001, 5_001]
    assert (tasked.lines, tasked.duplicates) == (spilled.lines, spilled.duplicates)


def _reads(path: Path, chunks: int, jobs: int = 1) -> list:
    tasks = parquet_tasks(path, chunks, jobs)
    assert tasks is not None
    assert all(task.snap for task in tasks)
    return [read for task in tasks for read in read_ranges(task, "g", {})]


def test_snapped_ranges_cover_every_row_once_and_cut_no_ticket(
    tmp_path: Path, rows: list[dict], monkeypatch
):
    path = _write(tmp_path / "g.parquet", rows)
    # Planning reads no whole column: a first look at a few row groups' first rows only.
    looked: list[tuple] = []
    iter_batches = parquet._ParquetInput.iter_batches

    def counted(self, **kwargs):
        looked.append((kwargs.get("columns"), kwargs["batch_size"]))
        return iter_batches(self, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(parquet._ParquetInput, "iter_batches", counted)
        patch.setattr(parquet._ParquetInput, "read_row_group", None)
        assert parquet_tasks(path, 8) is not None
    assert looked
    assert all(columns == ["ticket"] and size <= 4_096 for columns, size in looked)
    reads = _reads(path, 8)
    assert len(reads) >= 8
    assert [(a.end, b.start) for a, b in itertools.pairwise(reads)] == [
        (a.end, a.end) for a in reads[:-1]
    ]
    assert (reads[0].start, reads[-1].end) == (0, len(rows))
    owner: dict[str, int] = {}
    for number, read in enumerate(reads):
        for ticket in read.timelines.timelines:
            assert owner.setdefault(ticket, number) == number  # no ticket in two ranges
        if read.start:  # a range starts where a ticket does
            assert rows[read.start]["ticket"] != rows[read.start - 1]["ticket"]
    # The same timelines and problems as the ranges parquet_ranges finds in the whole column.
    exact = [read_rows(part, "g", {}) for part in parquet_ranges(path, 8) or []]
    assert _merged(reads) == _merged_sets(exact)


def _merged(reads: list) -> tuple[dict, list]:
    return _merged_sets([read.timelines for read in reads])


def _merged_sets(sets: list[TimelineSet]) -> tuple[dict, list]:
    timelines: dict = {}
    for found in sets:
        timelines.update(found.timelines)
    return timelines, sorted(p.line for found in sets for p in found.problems)


def _bound(tickets: list, group_starts: list[int], n: int) -> int:
    # Where a snapped bound at row n lands, by its definition, row by row.
    if n == 0:
        return 0
    start = max(s for s in group_starts if s <= n)
    last = None
    for row in range(start, len(tickets)):
        ticket = None if tickets[row] in (None, "") else tickets[row]
        if ticket is None:
            continue
        if row >= n and last is not None and ticket != last:
            return row
        last = ticket
    return len(tickets)


@pytest.mark.parametrize("seed", range(12))
def test_snapped_bounds_are_where_their_definition_puts_them(tmp_path: Path, seed: int):
    # Tickets of random lengths (some longer than a range), text or integers, with rows
    # without one anywhere (at row group starts too), in row groups of random sizes.
    rng = random.Random(seed)
    tickets: list = []
    number = 0
    while len(tickets) < 3_000:
        number += 1
        ticket = number if seed % 2 else f"T-{number:05d}"
        for _ in range(rng.choice([1, 2, 5, 40, 400, 2_500])):
            tickets.append(ticket if rng.random() > 0.2 else rng.choice([None, None, ""]))
    if seed % 2:
        tickets = [None if t == "" else t for t in tickets]
    tickets[0] = number + 1 if seed % 2 else "T-first"
    path = tmp_path / "b.parquet"
    at = [START] * len(tickets)
    pq.write_table(
        pa.table({"ticket": tickets, "at": at}), path, row_group_size=rng.choice([97, 500, 1_200])
    )
    meta = pq.ParquetFile(path).metadata
    group_starts = list(
        itertools.accumulate(
            [meta.row_group(g).num_rows for g in range(meta.num_row_groups)], initial=0
        )
    )[:-1]
    for jobs in (1, 2):
        tasks = parquet_tasks(path, rng.choice([2, 3, 7]), jobs)
        assert tasks is not None
        reads = [read for task in tasks for read in read_ranges(task, "b", {})]
        cuts = [part.start for task in tasks for part in task.parts] + [len(tickets)]
        expected = sorted({_bound(tickets, group_starts, n) for n in cuts})
        assert [read.start for read in reads] + [reads[-1].end] == expected
        # Every row once: a problem each (no row is an event here).
        lines = [p.line for read in reads for p in read.timelines.problems]
        assert lines == list(range(1, len(tickets) + 1))


def test_integer_tickets_snap_and_shuffled_ones_are_not_taken(tmp_path: Path, rows: list[dict]):
    numbered = [{**row, "ticket": int(row["ticket"][2:])} for row in rows if row.get("ticket")]
    path = _write(tmp_path / "n.parquet", numbered)
    reads = _reads(path, 5)
    assert sum(len(read.timelines.timelines) for read in reads) == len(
        {row["ticket"] for row in numbered}
    )
    shuffled = random.Random(3).sample(rows, len(rows))
    assert parquet_tasks(_write(tmp_path / "s.parquet", shuffled), 8) is None


def test_a_file_grouped_only_where_looked_at_is_spilled(tmp_path: Path, rows: list[dict]):
    # An event of the first ticket moved to the last row group, which the first look skips:
    # the ranges are read, then the ticket is found in two of them and the file is spilled.
    moved = [*rows[:3], *rows[4:], rows[3]]
    path = tmp_path / "m.parquet"
    keys = sorted({key for row in moved for key in row} - {"fields", "tags"})
    pq.write_table(pa.table({k: [r.get(k) for r in moved] for k in keys}), path, row_group_size=500)
    assert parquet_tasks(path, 8) is not None
    restarts: list[int] = []
    parts: list = []

    def restart() -> None:  # the ranges' results so far are forgotten
        restarts.append(len(parts))
        parts.clear()

    found = map_tickets(path, _summary, partitions=8, fold=parts.extend, restart=restart)
    assert len(restarts) == 1
    spilled: list = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_module, "parquet_tasks", lambda path, count, jobs: None)
        reference = map_tickets(path, _summary, partitions=8, fold=spilled.extend, restart=list)
    assert sorted(parts) == sorted(spilled)
    assert found.problems == reference.problems
    first = rows[0]["ticket"]
    assert [len(lines) for ticket, lines in parts if ticket == first] == [
        sum(1 for row in rows if row.get("ticket") == first)
    ]


def test_a_file_without_tickets_where_looked_at_is_spilled(tmp_path: Path, rows: list[dict]):
    # Every row group's first rows are looked at (all three, here): no ticket in any,
    # no ranges; one ticket in the second is enough.
    blank = [{**row, "ticket": "" if n % 2 else None} for n, row in enumerate(rows)]
    assert parquet_tasks(_write(tmp_path / "b.parquet", blank), 8) is None
    blank[GROUP + 10] = rows[GROUP + 10]
    assert parquet_tasks(_write(tmp_path / "c.parquet", blank), 8) is not None
