"""The rows of a spill's partition files: input lines kept with their line numbers.

A partition file is a run of records, one for each block of input lines that
sent it some: a header (the number of the line before the block, the record's
lines, the bytes of their text), each line's distance from that number as a
32-bit integer, then the lines themselves, joined by ``\\n``. Line numbers
cost four bytes a line and no formatting or parsing of digits; records can be
concatenated (the pieces of one partition from several readers), and a
partition read back gives each line with its number in the order written.
"""

from __future__ import annotations

import io
import struct
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from types import ModuleType
from typing import IO, Final

from slaengine.inputs.files import TEXT_ERRORS

# base line number (the line before the block), lines, bytes of text; little-endian.
_HEADER: Final = struct.Struct("<qII")
_BIG_ENDIAN: Final = sys.byteorder == "big"
#: The farthest a record's line may lie from its base number.
MAX_SPAN: Final = (1 << 32) - 1
_NUMPY: list[ModuleType | None] = []
#: Lines of a block from which numpy sorts them (worth its import, about 0.1 s, only then:
#: a small input is spilled without it).
NUMPY_LINES: Final = 4096

Writes = Sequence[Callable[[bytes], object]]


def write_rows(lines: Sequence[bytes], indexes: Sequence[int], base: int, writes: Writes) -> None:
    """Write each of ``lines`` to partition ``indexes[i]`` (``writes[i]`` takes partition
    ``i``'s bytes) as line number ``base + offsets[i]``: one record a partition, lines in
    the order given; a negative index leaves its line out. Offsets are ``i + 1``."""
    write_numbered(lines, indexes, base, None, writes)


def write_numbered(
    lines: Sequence[bytes],
    indexes: Sequence[int],
    base: int,
    offsets: Sequence[int] | None,
    writes: Writes,
) -> None:
    """:func:`write_rows` with each line's number given as ``base + offsets[i]`` (offsets
    rising, at most :data:`MAX_SPAN`), or ``base + i + 1`` when ``offsets`` is ``None``."""
    if not lines:
        return
    order, numbers, runs = _partition_runs(indexes, offsets, len(writes))
    ordered = list(map(lines.__getitem__, order))
    pack = _HEADER.pack
    for index, start, end in runs:
        text = b"\n".join(ordered[start:end])
        header = pack(base, end - start, len(text))
        writes[index](b"".join((header, numbers[4 * start : 4 * end], text)))


# The lines' positions in partition order (line order within a partition), their offsets
# from the base number in that order (as written), and each partition's run of them:
# (partition, start, end), negative partitions left out.
_Runs = tuple[list[int], bytes, list[tuple[int, int, int]]]


def _partition_runs(
    indexes: Sequence[int], offsets: Sequence[int] | None, partitions: int
) -> _Runs:
    numpy = _numpy() if len(indexes) >= NUMPY_LINES else None
    if numpy is None:
        order = sorted(range(len(indexes)), key=indexes.__getitem__)
        runs = []
        start = 0
        for index, run in groupby(order, key=indexes.__getitem__):
            end = start + sum(1 for _ in run)
            if index >= 0:
                runs.append((index, start, end))
            start = end
        if offsets is None:
            numbers = _offset_bytes([position + 1 for position in order])
        else:
            numbers = _offset_bytes([offsets[position] for position in order])
        return order, numbers, runs
    # A stable radix sort of 16-bit partition numbers: a few nanoseconds a line.
    codes = numpy.asarray(indexes, dtype=numpy.int16 if partitions < 1 << 15 else numpy.int32)
    positions = numpy.argsort(codes, kind="stable")
    ordered = codes[positions]
    starts = numpy.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    bounds = [0, *starts.tolist(), len(indexes)]
    found = ordered[bounds[:-1]].tolist()
    runs = [
        (index, start, end)
        for index, start, end in zip(found, bounds, bounds[1:], strict=False)
        if index >= 0
    ]
    if offsets is None:
        distances = positions + 1
    else:
        distances = numpy.asarray(offsets, dtype=numpy.int64)[positions]
    return positions.tolist(), distances.astype("<u4").tobytes(), runs


def _offset_bytes(offsets: list[int]) -> bytes:
    numbers = array("I", offsets)
    if _BIG_ENDIAN:
        numbers.byteswap()
    return numbers.tobytes()


def _numpy() -> ModuleType | None:
    # numpy when installed (the ``fast`` extra), imported the first time a spill needs it.
    if not _NUMPY:
        try:
            import numpy
        except ImportError:  # pragma: no cover - numpy is optional
            _NUMPY.append(None)
        else:
            _NUMPY.append(numpy)
    return _NUMPY[0]


def read_rows(stream: IO[bytes]) -> Iterator[tuple[list[str], list[int]]]:
    """The records of a partition file open for reading as bytes: each one's lines
    (decoded, bad bytes kept as :data:`~slaengine.inputs.files.TEXT_ERRORS` makes them)
    and their numbers."""
    for base, numbers, text in _records(stream):
        yield text.decode("utf-8", TEXT_ERRORS).split("\n"), list(map(base.__add__, numbers))


def spilled_rows(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Each line of a partition file's bytes with its number, in the order written."""
    for base, numbers, text in _records(io.BytesIO(data)):
        yield from zip((base + n for n in numbers), text.split(b"\n"), strict=True)


def _records(stream: IO[bytes]) -> Iterator[tuple[int, array[int], bytes]]:
    read = stream.read
    size = _HEADER.size
    unpack = _HEADER.unpack
    while header := read(size):
        base, count, length = unpack(header)
        numbers = array("I")
        numbers.frombytes(read(4 * count))
        if _BIG_ENDIAN:
            numbers.byteswap()
        yield base, numbers, read(length)


__all__ = ["MAX_SPAN", "read_rows", "spilled_rows", "write_numbered", "write_rows"]
