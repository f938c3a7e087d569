"""Run work over every ticket of a large events file: spilled by ticket, in parallel.

The input is split into partitions by ticket (see :mod:`slaengine.spill`); each
partition is parsed, grouped and handed to a work function, in this process or
in ``jobs`` forked workers. Results come back in partition order, so a parallel
run returns exactly what a single-process run does.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from slaengine.errors import Problem
from slaengine.eventlog import events_stream, source_name
from slaengine.spill import partitions_for, read_partition, spill
from slaengine.timeline import TimelineSet

R = TypeVar("R")
_NO_MAP: Mapping[str, str] = MappingProxyType({})
# What forked workers need, set just before the pool starts (fork copies it).
_TASK: dict[str, Any] = {}


@dataclass(slots=True)
class BatchResult(Generic[R]):
    """Per-partition results and everything about the input that was not usable."""

    results: list[R]
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    partitions: int = 0


def _run_partition(path: Path) -> tuple[Any, list[Problem], int]:
    timelines: TimelineSet = read_partition(path, _TASK["source"], _TASK["status_map"])
    return _TASK["work"](timelines), timelines.problems, timelines.duplicates


def map_tickets(
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    *,
    jobs: int = 1,
    status_map: Mapping[str, str] = _NO_MAP,
    partitions: int | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> BatchResult[R]:
    """Apply ``work`` to the timelines of every partition of the events at ``path``.

    ``jobs`` > 1 forks that many workers. Spill files live in a temporary
    directory (under ``workdir`` when given) removed afterwards.
    """
    source = source_name(path)
    count = partitions or max(partitions_for(path), jobs * 4 if jobs > 1 else 1)
    with tempfile.TemporaryDirectory(prefix="slaengine-spill-", dir=workdir) as tmp:
        with events_stream(path) as stream:
            spilled = spill(stream, Path(tmp), count, source)
        _TASK.update(source=source, status_map=status_map, work=work)
        try:
            if jobs <= 1:
                outputs = [_run_partition(p) for p in spilled.paths]
            else:
                # fork: workers inherit the work function and policies without pickling.
                with multiprocessing.get_context("fork").Pool(jobs) as pool:
                    outputs = pool.map(_run_partition, spilled.paths, chunksize=1)
        finally:
            _TASK.clear()
    problems = list(spilled.problems)
    for _, found, _ in outputs:
        problems.extend(found)
    problems.sort(key=lambda p: (p.line, p.code))
    return BatchResult(
        results=[result for result, _, _ in outputs],
        lines=spilled.lines,
        problems=problems,
        duplicates=sum(duplicates for _, _, duplicates in outputs),
        partitions=count,
    )


__all__ = ["BatchResult", "map_tickets"]
