"""The final KPIs' summaries: numpy and the standard library agree, parts sum to the whole."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.audit.groups import GroupStats, MetricStats, sum_groups
from slaengine.audit.kpis import _group_kpis
from slaengine.audit.stats import MARGIN_PERCENTILES, histogram, summarize
from slaengine.audit.summaries import distinct, distribution, numpy_available, use_numpy

needs_numpy = pytest.mark.skipif(not numpy_available(), reason="numpy is not installed")

# Durations, margins (negative) and values near the 64-bit edges (sums that overflow).
values_strategy = st.lists(
    st.one_of(
        st.integers(-10, 10),  # many ties
        st.integers(-(10**9), 10**9),
        st.sampled_from([2**63 - 1, -(2**63), 2**62, -(2**62)]),
    ),
    max_size=60,
)


@pytest.fixture(params=[True, False], ids=["numpy", "stdlib"])
def mode(request: pytest.FixtureRequest) -> Iterator[bool]:
    if request.param and not numpy_available():
        pytest.skip("numpy is not installed")
    previous = use_numpy(request.param)
    yield request.param
    use_numpy(previous)


@pytest.mark.parametrize(
    "values",
    [[], [7], [-3], [5, 5, 5, 5], [3, 1, 2], [2**63 - 1, 2**63 - 1], [-(2**63), 1, 2**62]],
)
def test_distribution_is_summarize_and_histogram(mode: bool, values: list[int]) -> None:
    for percentiles in ((50, 90, 95), MARGIN_PERCENTILES):
        summary, counts = distribution(array("q", values), percentiles, with_histogram=True)
        assert summary == summarize(values, percentiles)
        assert counts == histogram(values)
        assert distribution(array("q", values), percentiles) == (summary, None)


@given(values=values_strategy)
@settings(max_examples=300, deadline=None)
def test_numpy_and_stdlib_agree(values: list[int]) -> None:
    expected = summarize(values, MARGIN_PERCENTILES), histogram(values)
    for enabled in (True, False):
        previous = use_numpy(enabled)
        try:
            got = distribution(array("q", values), MARGIN_PERCENTILES, with_histogram=True)
            assert got == expected
            assert all(type(value) in (int, float, type(None)) for value in got[0].values())
            assert distinct(array("q", values)) == len(set(values))
        finally:
            use_numpy(previous)


@needs_numpy
def test_numpy_figures_are_python_numbers() -> None:
    previous = use_numpy(True)
    try:
        summary, counts = distribution(array("q", [4, 1, 3, 9]), with_histogram=True)
    finally:
        use_numpy(previous)
    assert {type(value) for value in summary.values()} <= {int, float}
    assert counts is not None
    assert {type(count) for count in counts} == {int}
    assert summary == {"count": 4, "mean": 4.2, "min": 1, "p50": 3, "p90": 9, "p95": 9, "max": 9}


def _group(values: list[int], metric: str = "first_reply") -> GroupStats:
    # A group whose arrays and counts all derive from ``values``.
    group = GroupStats(tickets=len(values), solved=len(values) // 2, reopened=len(values) % 3)
    group.handle_times = array("q", [abs(v) for v in values])
    group.customers = array("q", [v % 5 for v in values])
    group.csat = {float(v % 3): 1 for v in values}
    if values:
        group.metrics[metric] = MetricStats(
            achieved=len(values),
            breached=1,
            business=array("q", values),
            calendar=array("q", [2 * v for v in values]),
            margins=array("q", [-v for v in values]),
            targets={v % 4: 1 for v in values},
        )
    return group


@given(parts=st.lists(st.lists(st.integers(-50, 50), max_size=12), min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_parts_summed_give_the_whole(parts: list[list[int]]) -> None:
    # Summing the parts at once is merging them in turn; their KPIs are the KPIs of one
    # group holding every value (ties, empty parts and single values included).
    groups = [
        _group(values, "first_reply" if i % 2 else "resolution") for i, values in enumerate(parts)
    ]
    merged = GroupStats()
    for group in groups:
        merged.merge(group)
    summed = sum_groups(groups)
    assert summed == merged
    assert list(summed.metrics) == list(merged.metrics)
    for enabled in (True, False):
        previous = use_numpy(enabled)
        try:
            assert _group_kpis(summed) == _group_kpis(merged)
        finally:
            use_numpy(previous)
    everything = [v for values in parts for v in values]
    whole = GroupStats()
    whole.merge(_group(everything))
    assert sorted(summed.handle_times) == sorted(whole.handle_times)
    assert _group_kpis(summed)["open_time_seconds"] == summarize([abs(v) for v in everything])


def test_sum_groups_copies_its_parts() -> None:
    one = _group([3, 1, 2])
    summed = sum_groups([one])
    summed.handle_times.append(99)
    summed.metrics["first_reply"].business.append(99)
    assert list(one.handle_times) == [3, 1, 2]
    assert list(one.metrics["first_reply"].business) == [3, 1, 2]
    assert sum_groups([GroupStats(), GroupStats()]) == GroupStats()


def test_a_part_pickles_with_its_finest_groups() -> None:
    # Parts go between processes pickled as their constructor call (the audit's modules
    # are compiled): the finest groups, not yet summed into views, must come along.
    import pickle

    from slaengine.audit.accumulator import AuditAccumulator
    from slaengine.audit.periods import LocalBuckets

    part = AuditAccumulator(LocalBuckets("UTC", "week"))
    part._fine[("chat", "high", "p", "g", "2025-W01")] = _group([4, 2, 2])
    back = pickle.loads(pickle.dumps(part))
    assert back._fine == part._fine
    assert back._rolled == part._rolled
    assert back._direct == part._direct
    group = _group([1])
    group.kpis = _group_kpis(group)
    group.release_values()
    again = pickle.loads(pickle.dumps(group))
    assert again.released
    assert again.kpis == group.kpis
