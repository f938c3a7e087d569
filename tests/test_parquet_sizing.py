"""Parquet files are cut by their own metadata, and a grouped file's ranges are found a row
group at a time: where tickets start, and only when every ticket has one run of rows."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.batches import sizing
from slaengine.batches.sizing import (
    LINES_PER_PARTITION,
    MIN_PARTITIONS,
    parquet_part_rows,
    partition_count,
)
from slaengine.inputs.parquet import parquet_shape
from slaengine.inputs.parquet_parts import parquet_ranges

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _events(rows: int, cell: int) -> object:
    # ``rows`` events whose ``id`` cells are ``cell`` characters, each one different.
    return pa.table(
        {
            "ticket": [f"T{row // 10:06d}" for row in range(rows)],
            "at": ["2025-12-01T10:00:00Z"] * rows,
            "type": ["message"] * rows,
            "author": ["customer"] * rows,
            "id": [f"{row:08d}".ljust(cell, "x") for row in range(rows)],
        }
    )


def test_the_metadata_gives_rows_and_uncompressed_bytes(tmp_path: Path):
    path = tmp_path / "e.parquet"
    pq.write_table(_events(3_000, 40), path, row_group_size=1_000)
    meta = pq.ParquetFile(path).metadata
    rows, data = parquet_shape(path)
    assert rows == 3_000
    assert data == sum(meta.row_group(g).total_byte_size for g in range(3))
    # Uncompressed: the codec changes the file's size, not the parts.
    packed = tmp_path / "packed.parquet"
    pq.write_table(_events(3_000, 40), packed, row_group_size=1_000, compression="zstd")
    assert packed.stat().st_size < path.stat().st_size
    assert parquet_shape(packed) == (rows, data)


def test_large_cells_make_smaller_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    pq.write_table(_events(4_000, 10), small)
    pq.write_table(_events(4_000, 2_000), large)
    (rows, little), (_, big) = parquet_shape(small), parquet_shape(large)
    assert big > 100 * little
    assert parquet_part_rows(rows, big) < parquet_part_rows(rows, little) // 5
    # Parts of a few megabytes (the shipped budget would need far larger files).
    monkeypatch.setattr(sizing, "PARQUET_PART_BYTES", 2 << 20)
    monkeypatch.setattr(sizing, "MIN_PARTITIONS", 1)
    found = {path: partition_count(path) for path in (small, large)}
    assert found[small] == 1
    assert found[large] == -(-rows // parquet_part_rows(rows, big)) > 1
    # The file's size on disk plays no part: the large cells compress well.
    assert found[large] > large.stat().st_size // 10 // LINES_PER_PARTITION + 1


def test_part_rows_are_bounded():
    least = min(LINES_PER_PARTITION, sizing.PARQUET_PART_BYTES // sizing.PARQUET_ROW_BYTES)
    assert parquet_part_rows(10, 0) == parquet_part_rows(0, 0) == least  # rows of no data
    assert parquet_part_rows(10, 10_000) < least
    assert parquet_part_rows(1, 10**12) == 1  # a huge row is a part of its own


def test_an_unreadable_parquet_file_is_sized_by_its_bytes(tmp_path: Path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all" * 100)
    assert partition_count(broken) == MIN_PARTITIONS
    assert partition_count(tmp_path / "missing.parquet") >= MIN_PARTITIONS


# Ranges: each ticket's rows together or not; empty and missing tickets go with the run
# before them.
_TICKET = st.one_of(st.integers(0, 30).map(lambda n: f"T{n:02d}"), st.sampled_from(["", None]))


def _reference(tickets: list) -> tuple[bool, list[int]]:
    # Grouped or not, and the rows (but the first) where a run of equal tickets starts.
    filled, last = [], None
    for ticket in tickets:
        last = ticket if ticket not in ("", None) else last
        filled.append(last)
    starts = [row for row in range(1, len(filled)) if None is not filled[row - 1] != filled[row]]
    runs = len(starts) + (1 if any(t is not None for t in filled) else 0)
    return runs > 0 and runs == len({t for t in filled if t is not None}), starts


def _write(path: Path, column, group: int) -> Path:
    pq.write_table(
        pa.table({"ticket": column, "n": range(len(column))}), path, row_group_size=group
    )
    return path


def _bounds(ranges: list | None) -> list[tuple[int, int]] | None:
    return None if ranges is None else [(r.start, r.end) for r in ranges]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_TICKET, st.integers(1, 6)), min_size=1, max_size=40),
    st.integers(1, 25),
    st.integers(1, 6),
    st.booleans(),
)
def test_ranges_start_where_tickets_start(tmp_path_factory, runs, group, chunks, reverse):
    tickets = [ticket for ticket, count in runs for _ in range(count)]
    if reverse:  # tickets in descending order: not the common case, checked another way
        tickets.reverse()
    if len(tickets) < 2:
        return
    grouped, starts = _reference(tickets)
    where = tmp_path_factory.mktemp("ranges")
    plain = parquet_ranges(
        _write(where / "p.parquet", pa.array(tickets, pa.string()), group), chunks
    )
    coded = pa.array(tickets, pa.string()).dictionary_encode()
    assert parquet_ranges(_write(where / "d.parquet", coded, group), chunks) == (
        None
        if plain is None
        else [r.__class__(str(where / "d.parquet"), r.start, r.end) for r in plain]
    )
    if not grouped:
        assert plain is None
        return
    assert plain is not None
    assert plain[0].start == 0
    assert plain[-1].end == len(tickets)
    for before, after in itertools.pairwise(plain):
        assert before.end == after.start
        assert after.start in starts


def test_integer_tickets_have_ranges(tmp_path: Path):
    tickets = [t for t in (5, 3, 9, 1) for _ in range(1_000)]
    # Row groups larger than a range: cuts where the tickets start, nearest the aims.
    ranges = parquet_ranges(_write(tmp_path / "i.parquet", pa.array(tickets), 1_500), 4)
    assert _bounds(ranges) == [(n, n + 1_000) for n in range(0, 4_000, 1_000)]
    # No larger than a range: from the nearest row group's start (2100 for 2000: 3000).
    ranges = parquet_ranges(_write(tmp_path / "k.parquet", pa.array(tickets), 700), 4)
    assert _bounds(ranges) == [(0, 1_000), (1_000, 3_000), (3_000, 4_000)]
    tickets[-1] = 5  # the first ticket again, at the end
    assert parquet_ranges(_write(tmp_path / "j.parquet", pa.array(tickets), 1_500), 4) is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(st.characters(exclude_categories=["Cs"]), max_size=6), st.none()),
        min_size=1,
        max_size=60,
    )
)
def test_split_rows_go_to_the_partition_of_their_ticket(tmp_path_factory, tickets):
    # Spilled Parquet rows land where the JSON text of the same rows would: partition_of.
    from pyarrow import ipc

    from slaengine.inputs.parquet import LINE_COLUMN, split_batch
    from slaengine.inputs.tickets import partition_of

    batch = pa.RecordBatch.from_pydict({"ticket": pa.array(tickets, pa.string())})
    schema = batch.schema.append(pa.field(LINE_COLUMN, pa.int64()))
    where = tmp_path_factory.mktemp("split")
    paths = [where / f"{i}.arrow" for i in range(5)]
    writers = [ipc.new_file(str(path), schema) for path in paths]
    assert split_batch(batch, 1, schema, writers) == len(tickets) + 1
    for writer in writers:
        writer.close()
    for index, path in enumerate(paths):
        rows = ipc.open_file(str(path)).read_all().to_pylist()
        expected = [
            {"ticket": t, LINE_COLUMN: n}
            for n, t in enumerate(tickets, start=1)
            if (partition_of(t, 5) if t else 0) == index
        ]
        assert rows == expected
