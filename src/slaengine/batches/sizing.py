"""How finely a batch run cuts its input: the partition count and chunk size, decided once.

Every runner (local processes, a Dask cluster, the command line's progress bar)
asks here, so they cut the same input into the same partitions. The count
depends on the input's size only, never on the number of workers: results that
keep partition order (the breached-clocks CSV) are the same row for row
whatever ``--jobs`` or cluster runs them.
"""

from __future__ import annotations

import os
from typing import Final

from slaengine.inputs.files import estimated_size

#: Lines per partition aimed at; more partitions cost file handles, fewer cost memory.
LINES_PER_PARTITION: Final = 200_000
#: Partitions at least: enough for two workers to share the load evenly.
MIN_PARTITIONS: Final = 8
#: Partitions at most (each is an open file while the input is spilled).
MAX_PARTITIONS: Final = 1024
# Partitions for input whose size is unknown (standard input).
_UNSIZED: Final = 16


def partition_count(path: str | os.PathLike[str]) -> int:
    """The partitions of the events at ``path``, from its size."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return _UNSIZED
    # Roughly 100 bytes a line uncompressed, 10 bytes compressed.
    compressed = str(path).lower().endswith((".gz", ".parquet", ".pq"))
    per_line = 10 if compressed else 100
    by_size = size // per_line // LINES_PER_PARTITION + 1
    return max(MIN_PARTITIONS, min(MAX_PARTITIONS, by_size))


def chunk_bytes(path: str | os.PathLike[str], partitions: int) -> int:
    """Bytes of text per chunk of a ticket-grouped JSON Lines file cut into ``partitions``."""
    return max(1 << 16, estimated_size(path) // partitions)


__all__ = [
    "LINES_PER_PARTITION",
    "MAX_PARTITIONS",
    "MIN_PARTITIONS",
    "chunk_bytes",
    "partition_count",
]
