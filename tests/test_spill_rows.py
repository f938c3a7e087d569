"""A spill's partition rows: lines kept with their numbers, the same bytes with or without
numpy, read back in the order written."""

from __future__ import annotations

import io
import random

import pytest

from slaengine.batches import spill_rows
from slaengine.batches.spill_rows import read_rows, spilled_rows, write_numbered, write_rows

PARTITIONS = 7


def _block(seed: int, size: int) -> tuple[list[bytes], list[int]]:
    rng = random.Random(seed)
    lines = [
        b'{"ticket": "T%d", "n": %d, "text": "caf\xc3\xa9 \xff"}' % (i % 13, i) for i in range(size)
    ]
    # -1: a blank line, left out.
    indexes = [rng.choice([-1, *range(PARTITIONS)]) for _ in range(size)]
    return lines, indexes


def _written(lines, indexes, base, offsets=None) -> list[bytes]:
    parts: list[list[bytes]] = [[] for _ in range(PARTITIONS)]
    write_numbered(lines, indexes, base, offsets, [part.append for part in parts])
    return [b"".join(part) for part in parts]


@pytest.mark.parametrize("size", [1, 2, 40, 5000])
def test_each_line_lands_in_its_partition_with_its_number(size):
    lines, indexes = _block(size, size)
    base = 10_000_000_000  # beyond 32 bits: the base is kept whole
    parts = _written(lines, indexes, base)
    for index, data in enumerate(parts):
        expected = [
            (base + position + 1, line)
            for position, (line, where) in enumerate(zip(lines, indexes, strict=True))
            if where == index
        ]
        assert list(spilled_rows(data)) == expected
        assert bool(data) == bool(expected)  # no record for a partition without lines


def test_numpy_and_the_standard_library_write_the_same_bytes(monkeypatch):
    pytest.importorskip("numpy")
    lines, indexes = _block(3, spill_rows.NUMPY_LINES + 1000)
    offsets = sorted(random.Random(4).sample(range(1, 1 << 31), len(lines)))
    with_numpy = [_written(lines, indexes, 5), _written(lines, indexes, 5, offsets)]
    monkeypatch.setattr(spill_rows, "_NUMPY", [None])
    without = [_written(lines, indexes, 5), _written(lines, indexes, 5, offsets)]
    assert with_numpy == without
    numbered = list(spilled_rows(with_numpy[1][2]))
    assert [number for number, _ in numbered] == [
        5 + offset for offset, where in zip(offsets, indexes, strict=True) if where == 2
    ]


def test_records_concatenate_and_read_back_decoded():
    parts: list[list[bytes]] = [[] for _ in range(PARTITIONS)]
    appends = [part.append for part in parts]
    first, first_indexes = _block(5, 300)
    second, second_indexes = _block(6, 200)
    write_rows(first, first_indexes, 0, appends)
    write_rows(second, second_indexes, 300, appends)  # the next block of the input
    data = b"".join(parts[4])
    read = [
        pair
        for lines, numbers in read_rows(io.BytesIO(data))
        for pair in zip(numbers, lines, strict=True)
    ]
    expected = [
        (number, line.decode("utf-8", "surrogateescape"))
        for number, (line, where) in enumerate(
            zip([*first, *second], [*first_indexes, *second_indexes], strict=True), start=1
        )
        if where == 4
    ]
    assert read == expected
    assert len(read) > 50
