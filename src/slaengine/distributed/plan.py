"""Where the input is cut for a Dask run, decided on the client from a few small reads.

A local run cuts a JSON Lines file grouped by ticket into chunks of whole
tickets while reading it (:func:`slaengine.batches.chunks.write_chunks`). Here the same
cuts are found by seeking: each chunk ends at the first ticket boundary at or
after its start plus the chunk size, which a read of a few kilobytes there
settles. The workers then read their own byte ranges. Other input is cut into
blocks of whole lines (JSON Lines) or runs of row groups (Parquet) for readers
that split it by ticket.
"""

from __future__ import annotations

import os
from typing import IO, Final

from slaengine.inputs.files import TEXT_ERRORS
from slaengine.inputs.parquet import open_parquet
from slaengine.inputs.tickets import ticket_of

# Bytes read at a time while looking for a cut.
_WINDOW: Final = 1 << 16


def _ticket(raw: bytes) -> str | None:
    return ticket_of(raw.decode("utf-8", errors=TEXT_ERRORS)) if raw.strip() else None


class _Lines:
    """Complete lines of a file around an offset, read in small windows."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream = stream
        self.size = size

    def line_end(self, at: int) -> int | None:
        """Offset of the first ``\\n`` at or after ``at``; ``None`` if there is none."""
        while at < self.size:
            self.stream.seek(at)
            window = self.stream.read(_WINDOW)
            found = window.find(b"\n")
            if found != -1:
                return at + found
            at += len(window)
        return None

    def line_start(self, end: int, floor: int) -> int:
        """Where the line ending at ``end`` starts (not before ``floor``)."""
        at = end
        while at > floor:
            low = max(floor, at - _WINDOW)
            self.stream.seek(low)
            window = self.stream.read(at - low)
            found = window.rfind(b"\n")
            if found != -1:
                return low + found + 1
            at = low
        return floor

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end``."""
        self.stream.seek(start)
        return self.stream.read(end - start)


def chunk_cuts(path: str | os.PathLike[str], chunk_bytes: int) -> list[int]:
    """The offsets at which a local run cuts a grouped JSON Lines file into chunks.

    The first is 0, the last the file's size; chunk ``k`` is the bytes between
    cut ``k`` and cut ``k + 1``. The same cuts as
    :func:`slaengine.batches.chunks.write_chunks` makes for a file without carriage returns.
    """
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as stream:
        lines = _Lines(stream, size)
        start = 0
        while size - start > chunk_bytes:
            cut = _boundary(lines, start, start + chunk_bytes)
            if cut is None:
                break  # one ticket fills the rest of the file
            cuts.append(cut)
            start = cut
    if cuts[-1] < size:
        cuts.append(size)
    return cuts


def _boundary(lines: _Lines, start: int, target: int) -> int | None:
    # After the line holding byte target - 1, the start of the first complete line
    # naming another ticket than the last line that named one.
    end = lines.line_end(target - 1)
    if end is None:
        return None
    last = _ticket(lines.read(lines.line_start(end, start), end))
    while True:
        following = lines.line_end(end + 1)
        if following is None:
            return None  # no complete line follows
        ticket = _ticket(lines.read(end + 1, following))
        if ticket is not None and last is not None and ticket != last:
            return end + 1
        if ticket is not None:
            last = ticket
        end = following


def line_blocks(path: str | os.PathLike[str], block_bytes: int) -> list[int]:
    """Offsets cutting a file into blocks of about ``block_bytes`` of whole lines (0 ... size)."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as stream:
        lines = _Lines(stream, size)
        while size - cuts[-1] > block_bytes:
            end = lines.line_end(cuts[-1] + block_bytes - 1)
            if end is None or end + 1 >= size:
                break
            cuts.append(end + 1)
    if cuts[-1] < size:
        cuts.append(size)
    return cuts


def row_group_runs(path: str | os.PathLike[str], runs: int) -> list[tuple[list[int], int]]:
    """About ``runs`` runs of consecutive row groups of a Parquet file, with their first row."""
    meta = open_parquet(path).metadata
    counts = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    per_run = max(1, -(-len(counts) // max(1, runs)))
    out: list[tuple[list[int], int]] = []
    first = 1
    for begin in range(0, len(counts), per_run):
        groups = list(range(begin, min(begin + per_run, len(counts))))
        out.append((groups, first))
        first += sum(counts[g] for g in groups)
    return out


__all__ = ["chunk_cuts", "line_blocks", "row_group_runs"]
