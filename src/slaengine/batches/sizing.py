"""How finely a batch run cuts its input: the partition count and chunk size, decided once.

Every runner (local processes, a Dask cluster, the command line's progress bar)
asks here, so they cut the same input into the same partitions. The count
depends on the input alone, never on the number of workers: results that
keep partition order are the same row for row
whatever ``--jobs`` or cluster runs them. Text is sized by its bytes; a
Parquet file by its own metadata (rows, and bytes per row), so a file of
large cells is cut into smaller parts.
"""

from __future__ import annotations

import os
from typing import Final

from slaengine.inputs.files import estimated_size, is_parquet

#: Lines per partition aimed at; more partitions cost file handles, fewer cost memory.
LINES_PER_PARTITION: Final = 200_000
#: Partitions at least: enough for two workers to share the load evenly.
MIN_PARTITIONS: Final = 8
#: Partitions at most (each is an open file while the input is spilled).
MAX_PARTITIONS: Final = 1024
#: Lines per partition of a spill merged back into input order (:func:`fine_partition_count`).
FINE_LINES_PER_PARTITION: Final = 16_000
#: File descriptors kept free of a spill's partition files and a merge's spool files.
SPARE_FILES: Final = 64
#: Memory a Parquet part's rows may take as events, Arrow columns and results, in bytes
#: (a grouped million-ticket file: parts of a row group, 200,000 rows, each; an audit
#: worker's peak 215 MiB against 198 MiB at half that, for a twelfth less CPU: fewer
#: results pickled and merged, no row group cut in two; benchmarks/README.md).
PARQUET_PART_BYTES: Final = 88 << 20
#: Bytes a Parquet row costs in a part beside its cells: its event, timeline and result share.
PARQUET_ROW_BYTES: Final = 320
# Partitions for input whose size is unknown (standard input).
_UNSIZED: Final = 16


def partition_count(path: str | os.PathLike[str]) -> int:
    """The partitions of the events at ``path``: from a Parquet file's metadata, else its size."""
    if is_parquet(path):
        shape = _parquet_shape(path)
        if shape is not None:
            rows, data = shape
            return _clamped(-(-rows // parquet_part_rows(rows, data)))
    sized = _sized_count(path)
    return _UNSIZED if sized is None else _clamped(sized)


def _sized_count(path: str | os.PathLike[str]) -> int | None:
    # The partitions of a file by its size, before MIN_PARTITIONS and MAX_PARTITIONS;
    # None when its size is unknown.
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    # Roughly 100 bytes a line uncompressed, 10 bytes compressed (and a Parquet file
    # whose metadata cannot be read: reading it reports why).
    compressed = str(path).lower().endswith((".gz", ".parquet", ".pq"))
    per_line = 10 if compressed else 100
    return size // per_line // LINES_PER_PARTITION + 1


def fine_partition_count(path: str | os.PathLike[str]) -> int:
    """The partitions to spill text at ``path`` into when the results do not depend on them
    (``evaluate`` merges its parts by each ticket's first line): about
    :data:`FINE_LINES_PER_PARTITION` lines each, so that a partition's events stay
    in the processor's caches while they are grouped, evaluated and freed (a
    shuffled partition's events are scattered in memory); a small file, the
    partitions of its size alone. Never fewer than
    :func:`partition_count`, nor more than three files a partition (a parallel
    spill's two shares, a merge's spool file and its index) leave descriptors for
    once the limit is raised as far as it may be (:func:`reachable_files`): the
    count leaves the limit as it is, raised where the files are opened.
    Parquet keeps :func:`partition_count`.
    """
    count = partition_count(path)
    if is_parquet(path):
        return count
    # A small file is not cut into more files than its lines fill (each partition
    # costs files made and removed): its sized count, not MIN_PARTITIONS, is refined.
    sized = _sized_count(path)
    base = count if sized is None else min(count, sized)
    finer = base * (LINES_PER_PARTITION // FINE_LINES_PER_PARTITION)
    return max(count, min(finer, MAX_PARTITIONS, (_reachable_files() - SPARE_FILES) // 3))


def _reachable_files() -> int:
    # The files this process may have open at once, its limit raised for
    # fine_partition_count's most (the limit itself is left as it is).
    return reachable_files(3 * MAX_PARTITIONS + SPARE_FILES)


def open_files(wanted: int) -> int:
    """The files this process may have open at once (its soft ``RLIMIT_NOFILE``), first
    raised towards ``wanted`` when it is lower and the hard limit allows.

    The soft limit is often 1,024 while the hard one is far higher: a spill into many
    partitions asks for what it needs rather than failing. Raising it changes the
    process (and the processes it forks from then on), never lowers it; call it
    where the files are opened. Where the limit is unknown (not a Unix) or
    unlimited, ``wanted`` is taken as allowed.
    """
    return _files(wanted, raise_limit=True)


def reachable_files(wanted: int) -> int:
    """What :func:`open_files` would give for ``wanted``, the limit left as it is: for
    sizing work before its files are opened."""
    return _files(wanted, raise_limit=False)


def _files(wanted: int, *, raise_limit: bool) -> int:
    try:
        import resource
    except ImportError:  # not a Unix
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max(wanted, 3 * MAX_PARTITIONS + SPARE_FILES)
    if soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        if raised > soft:
            if not raise_limit:
                return int(raised)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            except (ValueError, OSError):  # not allowed here (a sandbox): keep the limit
                return int(soft)
            soft = raised
    return int(soft)


def parquet_part_rows(rows: int, data: int) -> int:
    """Rows per part of a Parquet file of ``rows`` rows whose row groups hold ``data`` bytes
    uncompressed: what :data:`PARQUET_PART_BYTES` holds, at most :data:`LINES_PER_PARTITION`.

    A row costs :data:`PARQUET_ROW_BYTES` and twice its share of the data: the
    cells once in Arrow's columns and once as Python values (a long text cell
    is held both ways while its batch becomes events).
    """
    per_row = PARQUET_ROW_BYTES + 2 * data // max(1, rows)
    return max(1, min(LINES_PER_PARTITION, PARQUET_PART_BYTES // per_row))


def _clamped(count: int) -> int:
    return max(MIN_PARTITIONS, min(MAX_PARTITIONS, count))


def _parquet_shape(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    # The rows and uncompressed bytes of a Parquet file's row groups; None when its
    # metadata cannot be read (no pyarrow, not Parquet: the read says so).
    from slaengine.errors import UserError
    from slaengine.inputs.parquet import parquet_shape

    try:
        return parquet_shape(path)
    except (UserError, OSError):
        return None


def chunk_bytes(path: str | os.PathLike[str], partitions: int) -> int:
    """Bytes of text per chunk of a ticket-grouped JSON Lines file cut into ``partitions``."""
    return max(1 << 16, estimated_size(path) // partitions)


__all__ = [
    "FINE_LINES_PER_PARTITION",
    "LINES_PER_PARTITION",
    "MAX_PARTITIONS",
    "MIN_PARTITIONS",
    "PARQUET_PART_BYTES",
    "PARQUET_ROW_BYTES",
    "chunk_bytes",
    "fine_partition_count",
    "open_files",
    "parquet_part_rows",
    "partition_count",
    "reachable_files",
]
