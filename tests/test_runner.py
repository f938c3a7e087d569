"""The batch runner: one partition count for every runner, results folded in order, and the
caller's garbage collector left as it was."""

from __future__ import annotations

import datetime as dt
import gc
import gzip
import json
import random
from pathlib import Path

import pytest

from slaengine.batches import MIN_PARTITIONS, fold_tickets, map_tickets, partition_count
from slaengine.batches.sizing import LINES_PER_PARTITION, MAX_PARTITIONS
from slaengine.inputs.synthetic import write_jsonl
from slaengine.timeline import TimelineSet


def _tickets(timelines: TimelineSet) -> int:
    return len(timelines.timelines)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runner") / "history.jsonl"
    write_jsonl(path, 300, 5, dt.datetime(2025, 10, 1, tzinfo=dt.UTC), 30)
    return path


@pytest.fixture(scope="module")
def shuffled(history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = history.read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("runner") / "shuffled.jsonl"
    random.Random(3).shuffle(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_partition_count_comes_from_the_size_alone(tmp_path: Path):
    small = tmp_path / "small.jsonl"
    small.write_text("{}\n", encoding="utf-8")
    assert partition_count(small) == MIN_PARTITIONS
    assert partition_count("-") >= MIN_PARTITIONS  # stdin: size unknown
    big = tmp_path / "big.jsonl"
    with big.open("wb") as out:  # a sparse file: only its size counts
        out.truncate(100 * LINES_PER_PARTITION * 20)
    assert partition_count(big) == 21
    assert partition_count(tmp_path / "missing.jsonl") >= MIN_PARTITIONS
    huge = tmp_path / "huge.jsonl.gz"
    with huge.open("wb") as out:
        out.truncate(10 * LINES_PER_PARTITION * (MAX_PARTITIONS + 5))
    assert partition_count(huge) == MAX_PARTITIONS


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("name", ["history", "shuffled"])
def test_the_runner_cuts_the_same_partitions_whatever_the_jobs(request, name, jobs):
    path = request.getfixturevalue(name)
    batch = map_tickets(path, _tickets, jobs=jobs)
    assert sum(batch.results) == 300
    if name == "shuffled":  # spilled: exactly the partitions decided for the file
        assert batch.partitions == partition_count(path)
    one = map_tickets(path, _tickets, jobs=1)
    assert batch.results == one.results


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("name", ["history", "shuffled"])
def test_a_chunk_limit_cuts_a_grouped_file_finer_with_the_same_tickets(request, name, jobs):
    # Chunks of a grouped file are at least 64 KiB unless limited: with a limit of 16 KiB,
    # more and smaller chunks (each one limit and part of a ticket); a spilled file keeps
    # its partitions.
    path = request.getfixturevalue(name)
    limit = 1 << 14
    whole = map_tickets(path, _tickets, jobs=1)
    limited = map_tickets(path, _tickets, jobs=jobs, chunk_limit=limit)
    assert sum(limited.results) == sum(whole.results) == 300
    if name == "history":
        assert whole.partitions < limited.partitions <= path.stat().st_size // limit + 1
    else:
        assert limited.results == whole.results
        assert limited.partitions == whole.partitions == partition_count(path)


@pytest.mark.parametrize("jobs", [1, 2])
def test_fold_merges_in_partition_order_and_starts_again_when_not_grouped(
    tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
):
    # Grouped at its start, then a ticket comes back in a later chunk: the fold starts again.
    from slaengine.batches import runner

    monkeypatch.setattr(runner, "chunkable", lambda path: True)
    lines = []
    for t in range(3000):
        lines.append({"ticket": f"T{t}", "at": "2025-12-01T10:00:00Z", "type": "created",
                      "channel": "email", "priority": "normal"})  # fmt: skip
    lines.append(
        {"ticket": "T0", "at": "2025-12-01T11:00:00Z", "type": "status", "status": "solved"}
    )
    path = tmp_path / "late.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    starts: list[list[int]] = []
    progress: list[int] = []

    def start() -> list[int]:
        starts.append([])
        return starts[-1]

    merged, batch = fold_tickets(
        path, _tickets, start, list.append, jobs=jobs, on_partition=lambda: progress.append(1)
    )
    assert sum(merged) == 3000
    assert len(merged) == batch.partitions == partition_count(path)
    assert len(starts) == 2  # the chunked attempt, then the spill
    assert batch.results == []  # folded, not kept
    assert len(progress) >= len(merged)


def test_a_library_run_leaves_the_callers_collector_alone(history: Path, tmp_path: Path):
    seen: list[bool] = []

    def work(timelines: TimelineSet) -> int:
        seen.append(gc.isenabled())
        return len(timelines.timelines)

    gz = tmp_path / "history.jsonl.gz"
    gz.write_bytes(gzip.compress(history.read_bytes()))
    thresholds = gc.get_threshold()
    assert gc.isenabled()
    for path in (history, gz):
        assert sum(map_tickets(path, work, jobs=1).results) == 300
    assert seen
    assert all(seen)
    assert gc.isenabled()
    assert gc.get_threshold() == thresholds


def test_forked_workers_pause_their_own_collector(history: Path):
    def work(timelines: TimelineSet) -> bool:
        return gc.isenabled()

    batch = map_tickets(history, work, jobs=2)
    assert batch.results
    assert not any(batch.results)
    assert gc.isenabled()  # and never here


def test_the_command_line_restores_the_collector_thresholds(history: Path, capsys):
    from slaengine.cli import main

    root = Path(__file__).resolve().parent.parent
    thresholds = gc.get_threshold()
    code = main(["audit", "-p", str(root / "policies"), "-e", str(history), "--json",
                 "--at", "2026-01-01T00:00:00Z"])  # fmt: skip
    assert code in (0, 1)
    assert json.loads(capsys.readouterr().out)["input"]["tickets"] == 300
    assert gc.get_threshold() == thresholds
    assert gc.isenabled()


def test_fine_partitions_are_more_and_smaller_where_the_results_allow(tmp_path, monkeypatch):
    from slaengine.batches import sizing

    text = tmp_path / "events.jsonl"
    with text.open("wb") as out:
        out.truncate(100 * 2_000_000)  # sized as two million lines
    count = sizing.partition_count(text)
    fine = sizing.fine_partition_count(text)
    assert fine == count * (sizing.LINES_PER_PARTITION // sizing.FINE_LINES_PER_PARTITION)
    # Never more than the open files allow: a spill's two shares, a spool file and its index.
    monkeypatch.setattr(sizing, "_reachable_files", lambda: 3 * 40 + sizing.SPARE_FILES)
    assert sizing.fine_partition_count(text) == max(count, 40)
    monkeypatch.setattr(sizing, "_reachable_files", lambda: 0)
    assert sizing.fine_partition_count(text) == count
    # A small file is cut as finely as its size alone says, not as MIN_PARTITIONS does.
    monkeypatch.undo()
    small = tmp_path / "small.jsonl"
    small.write_text('{"ticket": "T-1"}\n' * 10, encoding="utf-8")
    assert sizing.partition_count(small) == sizing.MIN_PARTITIONS
    ratio = sizing.LINES_PER_PARTITION // sizing.FINE_LINES_PER_PARTITION
    assert sizing.fine_partition_count(small) == max(sizing.MIN_PARTITIONS, ratio)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_spill_takes_the_partitions_asked_for_and_chunks_do_not(history, shuffled, jobs):
    spilled = map_tickets(shuffled, _tickets, jobs=jobs, spill_partitions=37)
    assert spilled.partitions == len(spilled.results) == 37
    assert sum(spilled.results) == 300
    chunked = map_tickets(history, _tickets, jobs=jobs, spill_partitions=37)
    assert chunked.results == map_tickets(history, _tickets, jobs=jobs).results
