"""Where the input is cut for a Dask run, decided on the client from a few small reads.

A JSON Lines file grouped by ticket is cut where a local run cuts it
(:func:`slaengine.batches.ranges.chunk_cuts`, found by seeking); the workers
then read their own byte ranges. Other input is cut into blocks of whole lines
(JSON Lines) or runs of row groups (Parquet) for readers that split it by ticket.
"""

from __future__ import annotations

import os

from slaengine.batches.ranges import LineWindows, chunk_cuts
from slaengine.inputs.parquet import open_parquet


def line_blocks(path: str | os.PathLike[str], block_bytes: int) -> list[int]:
    """Offsets cutting a file into blocks of about ``block_bytes`` of whole lines (0 ... size)."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as stream:
        lines = LineWindows(stream, size)
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
