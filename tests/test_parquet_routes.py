"""A Parquet file's spill by ranges of ticket ids, as a JSON Lines file's: sampled, then split."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from slaengine.batches.routes import ticket_routes  # noqa: E402 - after the skip
from slaengine.batches.spill import read_partition, spill, spill_input, spill_parquet  # noqa: E402
from slaengine.errors import UserError  # noqa: E402
from slaengine.inputs.parquet import (  # noqa: E402
    LINE_COLUMN,
    parquet_lines,
    ticket_runs,
    ticket_sample,
)
from slaengine.inputs.synthetic import write_jsonl  # noqa: E402

START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def time_ordered(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Events of 1,500 tickets in time order (ids issued in sequence), with two bad rows."""
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    write_jsonl(path, 1_500, 5, START, 60)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows.sort(key=lambda row: row["at"])
    rows.insert(300, {"at": "2025-10-01T00:00:00Z", "type": "status", "status": "open"})
    rows.insert(900, {"ticket": "", "at": "x", "type": "status"})
    return rows


def _write(path: Path, rows: list[dict], group: int) -> Path:
    keys = sorted({key for row in rows for key in row} - {"fields", "tags"})
    table = pa.table({key: [row.get(key) for row in rows] for key in keys})
    pq.write_table(table, path, row_group_size=group)
    return path


def test_the_sample_takes_tickets_from_every_row_group(tmp_path: Path):
    tickets = [f"T{n:05d}" for n in range(20_000)]
    path = _write(tmp_path / "t.parquet", [{"ticket": t} for t in tickets], 2_000)
    sample = ticket_sample(path)
    assert set(sample) <= {t.encode() for t in tickets}
    # The first rows of each of the ten row groups.
    assert {int(key[1:]) // 2_000 for key in sample} == set(range(10))
    # One large row group: windows spread through it.
    one = _write(tmp_path / "one.parquet", [{"ticket": t} for t in tickets], 20_000)
    assert max(int(key[1:]) for key in ticket_sample(one)) > 15_000


def test_the_sample_reads_integer_tickets_as_their_text(tmp_path: Path):
    path = tmp_path / "i.parquet"
    tickets = [None if n == 8 else n for n in range(40)]  # every fourth row is taken
    pq.write_table(pa.table({"ticket": pa.array(tickets, pa.int64())}), path)
    assert ticket_sample(path) == [str(n).encode() for n in range(0, 40, 4) if n != 8]
    other = tmp_path / "f.parquet"
    pq.write_table(pa.table({"ticket": pa.array([1.5, 2.5])}), other)
    with pytest.raises(UserError, match="the column 'ticket' holds double values"):
        ticket_sample(other)  # no ticket id in it: the file is an error, not routed by a hash


def test_ranges_share_a_time_ordered_file_evenly(tmp_path: Path, time_ordered: list[dict]):
    path = _write(tmp_path / "t.parquet", time_ordered, 1_000)
    routes = ticket_routes(path, 4)
    assert len(routes.bounds) == 3  # ranges, not a hash
    spilled = spill_input(path, tmp_path / "parts", 4, "t")
    sizes = [sum(t.events.__len__() for t in read_partition(p, "t").timelines.values())
             for p in spilled.paths]  # fmt: skip
    assert min(sizes) * 2 > max(sizes)


@pytest.mark.parametrize("workers", [1, 2])
def test_ranged_partitions_read_like_the_json_of_the_rows(
    tmp_path: Path, time_ordered: list[dict], workers: int
):
    shuffled = list(time_ordered)
    random.Random(3).shuffle(shuffled)
    path = _write(tmp_path / "s.parquet", shuffled, 700)
    routes = ticket_routes(path, 3)
    assert routes.bounds
    columnar = spill_parquet(path, tmp_path / "arrow", 3, "t", workers=workers, routes=routes)
    text = spill(parquet_lines(path), tmp_path / "text", 3, "t", routes)
    assert columnar.lines == text.lines == len(shuffled)
    problems = []
    for arrow_part, text_part in zip(columnar.partition_files(), text.paths, strict=True):
        a, b = read_partition(arrow_part, "t"), read_partition(text_part, "t")
        assert a.timelines == b.timelines
        assert list(a.timelines) == list(b.timelines)  # tickets in order of first appearance
        assert a.problems == b.problems
        assert a.duplicates == b.duplicates
        problems += a.problems
    assert len(problems) >= 2


@pytest.mark.parametrize("coded", [False, True], ids=["text", "dictionary"])
def test_ticket_runs_put_each_tickets_rows_together_in_line_order(coded: bool):
    tickets = pa.array(["b", "a", "b", None, "a", "c", "b"])
    if coded:
        tickets = tickets.dictionary_encode()
    lines = [1, 2, 3, 4, 5, 6, 7]
    table = pa.table({"ticket": tickets, LINE_COLUMN: lines})
    runs = ticket_runs(table, in_order=True)
    assert runs.column(LINE_COLUMN).to_pylist() == [1, 3, 7, 2, 5, 6, 4]
    # Rows of two spill files, not in line order: the same runs.
    mixed = table.take([1, 3, 5, 0, 2, 4, 6])
    assert ticket_runs(mixed, in_order=False).column(LINE_COLUMN).to_pylist() == [
        1, 3, 7, 2, 5, 6, 4,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("tickets", "named"),
    [
        (pa.array([1.0, 2.0, None]), "double"),  # pandas' integers with a missing value
        (pa.array([1.0, 2.0, 1.0], pa.float32()), "float"),
        (pa.array([1.0, 2.0, 1.0]).dictionary_encode(), "double"),  # read back as plain
        (pa.array([True, False, True]), "bool"),
        (pa.array([[1], [2], [1]]), "list<element: int64>"),
        (pa.array([{"id": 1}, {"id": 2}, {"id": 1}]), "struct<id: int64>"),
    ],
)
def test_a_ticket_column_no_ticket_id_can_be_in_is_one_error(tickets, named, tmp_path: Path):
    # No row has a ticket (as JSON, each would be "'ticket' must be a string"): one error
    # naming the column and its type, whichever way the file is read, not one a row.
    from slaengine import read_events
    from slaengine.cli import main

    path = tmp_path / "wrong.parquet"
    table = pa.table({
        "ticket": tickets,
        "at": ["2025-09-01T00:00:00Z"] * 3,
        "type": ["created"] * 3,
    })  # fmt: skip
    pq.write_table(table, path)
    message = f"wrong.parquet:1: the column 'ticket' holds {named}"
    for read in (
        lambda: spill_parquet(path, tmp_path / "arrow", 2, "t"),
        lambda: list(parquet_lines(path)),
        lambda: read_events(path),
    ):
        with pytest.raises(UserError, match=message.replace("<", ".").replace("[", ".")) as raised:
            read()
        assert "which are no ticket ids: write it as text or integers" in str(raised.value)
    root = Path(__file__).resolve().parent.parent
    for command in ("evaluate", "audit"):
        assert main([command, "-p", str(root / "policies"), "-e", str(path), "-j", "2"]) == 2


def test_a_ticket_column_of_integers_or_text_is_read(tmp_path: Path):
    from slaengine import read_events

    for tickets in (
        pa.array([1, 2, 1]),
        pa.array([1, 2, 1], pa.uint8()),
        pa.array(["1", "2", "1"]),
    ):
        path = tmp_path / "right.parquet"
        table = pa.table({
            "ticket": tickets,
            "at": ["2025-09-01T00:00:00Z", "2025-09-01T00:00:00Z", "2025-09-01T01:00:00Z"],
            "type": ["created", "created", "message"],
            "channel": ["email", "email", None],
            "priority": ["high", "high", None],
            "author": [None, None, "agent"],
        })  # fmt: skip
        pq.write_table(table, path)
        assert sorted(read_events(path).timelines) == ["1", "2"]
