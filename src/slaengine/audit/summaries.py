"""A group's distributions summarised at the end: through numpy when it is installed.

The final KPIs sort every value of every view (:mod:`slaengine.audit.kpis`),
the audit's last serial step. ``sorted`` makes a Python integer of each value;
numpy sorts the 64-bit values where they lie, about ten times as fast. Both
paths give the same figures, value for value (``tests/test_audit_summaries.py``):
nearest ranks index the same sorted order, a mean is the exact integer sum
divided once, and a sum that might not fit in 64 bits is taken in Python.
numpy comes with the ``fast`` extra; without it the standard library does the work.
"""

from __future__ import annotations

from array import array
from typing import Any, Final

from slaengine.audit.stats import (
    BUCKET_EDGES,
    DURATION_PERCENTILES,
    histogram_sorted,
    nearest_rank,
    summarize_sorted,
)

try:
    import numpy
except ImportError:  # pragma: no cover - numpy is optional (the ``fast`` extra)
    numpy = None  # type: ignore[assignment]

#: True when numpy sorts the values (see :func:`use_numpy`).
_NUMPY: list[bool] = [numpy is not None]
#: Whole-value sums below this bound cannot overflow 64-bit integers.
_SAFE: Final = 2**62


def numpy_available() -> bool:
    """True when numpy is installed."""
    return numpy is not None


def sorts_values() -> bool:
    """True when numpy sorts the values at the end: nothing gains from sorting them before."""
    return _NUMPY[0]


def use_numpy(enabled: bool) -> bool:
    """Sort with numpy (when installed) or with ``sorted``; returns the previous setting.

    For tests and measurements: both give the same figures.
    """
    previous = _NUMPY[0]
    _NUMPY[0] = enabled and numpy is not None
    return previous


def distribution(
    values: array[int],
    percentiles: tuple[int, ...] = DURATION_PERCENTILES,
    with_histogram: bool = False,
) -> tuple[dict[str, Any], list[int] | None]:
    """:func:`~slaengine.audit.stats.summarize` of ``values`` (signed 64-bit, any order) and,
    when asked, their :func:`~slaengine.audit.stats.histogram`."""
    if not _NUMPY[0] or len(values) < 2 or type(values) is not array:
        ordered = sorted(values)
        counts = histogram_sorted(ordered) if with_histogram else None
        return summarize_sorted(ordered, percentiles), counts
    ordered_np = numpy.sort(numpy.frombuffer(values, dtype=numpy.int64))
    n = len(ordered_np)
    low, high = int(ordered_np[0]), int(ordered_np[-1])
    # A sum that might overflow 64 bits is taken in Python's exact integers.
    safe = max(-low, high) < _SAFE // n
    total = int(ordered_np.sum()) if safe else sum(ordered_np.tolist())
    out: dict[str, Any] = {"count": n, "mean": round(total / n, 1), "min": low}
    for p in percentiles:
        out[f"p{p}"] = int(nearest_rank(ordered_np, p))  # type: ignore[arg-type]
    out["max"] = high
    counts = None
    if with_histogram:
        below = numpy.searchsorted(ordered_np, BUCKET_EDGES, side="left").tolist()
        counts = [below[0], *(below[i] - below[i - 1] for i in range(1, len(below)))]
        counts.append(n - below[-1])
    return out, counts


def distinct(values: array[int]) -> int:
    """How many different values ``values`` holds."""
    if not _NUMPY[0] or len(values) < 2 or type(values) is not array:
        return len(set(values))
    ordered = numpy.sort(numpy.frombuffer(values, dtype=numpy.int64))
    return int(numpy.count_nonzero(ordered[1:] != ordered[:-1])) + 1


__all__ = ["distinct", "distribution", "numpy_available", "sorts_values", "use_numpy"]
