"""The cyclic garbage collector paused while a partition is processed, in processes a run owns.

A partition is about a million small objects that live until it is done and
are freed by reference counting (they form no cycles); the collector would
rescan them again and again (a tenth of a forked worker's time, 40% of a Dask
task's, measured). Only processes that a batch run owns pause it: the forked
workers of :func:`~slaengine.batches.runner.map_tickets`, Dask worker
processes, and the command line's own process while ``audit``, ``whatif`` or
``evaluate`` runs. A program that calls the library keeps its collector as it is.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_state = {"tasks": 0, "enabled": False}


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off while any partition of this process runs; its setting restored
    when the last one ends (partitions may share a process's threads)."""
    with _lock:
        if _state["tasks"] == 0:
            _state["enabled"] = gc.isenabled()
            gc.disable()
        _state["tasks"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["tasks"] -= 1
            if _state["tasks"] == 0 and _state["enabled"]:
                gc.enable()


__all__ = ["collector_paused"]
