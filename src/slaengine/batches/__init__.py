"""Batch runs: every ticket of a large events file, partition by partition, in parallel.

- :mod:`~slaengine.batches.sizing`: how many partitions, decided once;
- :mod:`~slaengine.batches.routes`: which partition a spill sends each ticket to;
- :mod:`~slaengine.batches.spill`: unsorted input split by ticket on disk;
- :mod:`~slaengine.batches.chunks`: input grouped by ticket cut into chunks instead;
- :mod:`~slaengine.batches.ranges`: a plain grouped file read in place, a byte range a chunk;
- :mod:`~slaengine.batches.runner`: work on each partition, here or in forked workers,
  results in partition order (:func:`fold_tickets` merges them as they come);
- :mod:`~slaengine.batches.collector`: the garbage collector paused in the workers only.

Reading and parsing the input is :mod:`slaengine.inputs`; a Dask cluster runs the
same partitions with :mod:`slaengine.distributed`.
"""

from __future__ import annotations

from slaengine.batches.runner import BatchResult, fold_tickets, map_tickets
from slaengine.batches.sizing import MIN_PARTITIONS, partition_count

__all__ = ["MIN_PARTITIONS", "BatchResult", "fold_tickets", "map_tickets", "partition_count"]
