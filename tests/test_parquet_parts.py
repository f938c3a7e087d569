"""A grouped Parquet file read in tasks of ranges: each row group decoded once, the same parts."""

from __future__ import annotations

import datetime as dt
import json
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
    read_parts,
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
    monkeypatch.setattr(batch_module, "parquet_ranges", lambda path, count: None)
    spilled = map_tickets(path, _summary, jobs=jobs, partitions=8)
    assert sorted(t for part in tasked.results for t in part) == sorted(
        t for part in spilled.results for t in part
    )
    assert tasked.problems == spilled.problems
    assert [p.line for p in tasked.problems][:2] == [2_001, 5_001]
    assert (tasked.lines, tasked.duplicates) == (spilled.lines, spilled.duplicates)
