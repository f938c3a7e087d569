"""Exact, mergeable distributions of integer seconds: nearest-rank percentiles, log buckets.

Durations are kept as compact ``array('q')`` values per group; parts of a batch
merge by concatenation and every statistic is computed once, at the end, on the
sorted values, so the result does not depend on how the input was split.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, Final

#: Percentiles reported for durations.
DURATION_PERCENTILES: Final = (50, 90, 95)
#: Percentiles reported for breach margins (negative: the low ones are the worst overruns).
MARGIN_PERCENTILES: Final = (5, 10, 50, 90, 95)
#: Upper edges (exclusive, seconds) of the histogram buckets: under 1 minute, then doubling
#: from 1 minute to 2**15 minutes (about 22.8 days); a last bucket holds everything longer.
BUCKET_EDGES: Final = (60, *(60 * 2**i for i in range(1, 16)))


def new_values() -> array[int]:
    """An empty array of signed 64-bit integers."""
    return array("q")


def nearest_rank(ordered: Sequence[int], percent: float) -> int:
    """The ``percent``-th percentile of non-empty sorted ``ordered`` by the nearest-rank method.

    The smallest value such that at least ``percent`` % of the values are at or
    below it: ``ordered[ceil(percent / 100 * n) - 1]`` (the first value for 0).
    Always one of the values, never interpolated.
    """
    n = len(ordered)
    if not n:
        raise ValueError("no values")
    # ceil(percent * n / 100) in exact integer arithmetic when percent is whole.
    numerator = round(percent * 1_000_000) * n
    rank = -(-numerator // 100_000_000)
    return ordered[max(rank, 1) - 1]


def summarize(
    values: Sequence[int], percentiles: Sequence[int] = DURATION_PERCENTILES
) -> dict[str, Any]:
    """Count, mean, min, nearest-rank percentiles (``p50`` ...) and max; ``None`` when empty."""
    return summarize_sorted(sorted(values), percentiles)


def summarize_sorted(
    ordered: Sequence[int], percentiles: Sequence[int] = DURATION_PERCENTILES
) -> dict[str, Any]:
    """:func:`summarize` of values already in ascending order (no copy, no sort)."""
    n = len(ordered)
    out: dict[str, Any] = {"count": n}
    if not n:
        out.update({"mean": None, "min": None})
        out.update({f"p{p}": None for p in percentiles})
        out["max"] = None
        return out
    out["mean"] = round(sum(ordered) / n, 1)
    out["min"] = ordered[0]
    for p in percentiles:
        out[f"p{p}"] = nearest_rank(ordered, p)
    out["max"] = ordered[-1]
    return out


def histogram(values: Sequence[int]) -> list[int]:
    """Counts per bucket of :data:`BUCKET_EDGES` (``len(BUCKET_EDGES) + 1`` buckets)."""
    from bisect import bisect_right

    counts = [0] * (len(BUCKET_EDGES) + 1)
    for value in values:
        counts[bisect_right(BUCKET_EDGES, value)] += 1
    return counts


def histogram_sorted(ordered: Sequence[int]) -> list[int]:
    """:func:`histogram` of values already in ascending order: two bisections per bucket."""
    from bisect import bisect_left

    below = [bisect_left(ordered, edge) for edge in BUCKET_EDGES]  # values under each edge
    counts = [below[0]]
    counts.extend(below[i] - below[i - 1] for i in range(1, len(below)))
    counts.append(len(ordered) - below[-1])
    return counts


def sorted_values(values: array[int]) -> array[int]:
    """The values of ``values``, ascending, as a new array."""
    return array("q", sorted(values))


def unique_sorted(values: array[int]) -> array[int]:
    """The distinct values of ``values``, ascending, as a new array."""
    return array("q", sorted(set(values)))


__all__ = [
    "BUCKET_EDGES",
    "DURATION_PERCENTILES",
    "MARGIN_PERCENTILES",
    "histogram",
    "histogram_sorted",
    "nearest_rank",
    "new_values",
    "sorted_values",
    "summarize",
    "summarize_sorted",
    "unique_sorted",
]
