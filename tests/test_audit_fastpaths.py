"""The audit's shortcuts give what the plain computations give: sorted statistics,
cached and shared KPIs, the deferred roll-up of parts."""

from __future__ import annotations

import datetime as dt
import random
from array import array
from pathlib import Path

import pytest

import slaengine
from slaengine.audit import AuditAccumulator, LocalBuckets, group_kpis, views_for
from slaengine.audit.accumulator import GroupStats, MetricStats
from slaengine.audit.kpis import _group_kpis, metric_kpis, prepare_kpis
from slaengine.audit.stats import histogram, histogram_sorted, summarize, summarize_sorted
from slaengine.engine import evaluate_timeline
from slaengine.inputs.synthetic import generate_lines

POLICY = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
policies:
  - name: office
    calendar: office
    metrics:
      first_response: {targets: 2h}
      next_response: {targets: 4h}
      resolution: {targets: 16h, pause_when: [pending, on_hold]}
"""
START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
NOW = int((START + dt.timedelta(days=30)).timestamp())


@pytest.mark.parametrize("seed", range(5))
def test_sorted_statistics_equal_the_plain_ones(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.choice([0, 59, 60, 61, 1_966_080, -5]) + rng.randrange(10**7) for _ in range(500)]
    values += [60 * 2**i for i in range(16)] + [0, 59, 1_966_079]
    ordered = sorted(values)
    assert histogram_sorted(ordered) == histogram(values)
    assert histogram_sorted([]) == histogram([])
    assert summarize_sorted(ordered, (5, 50, 95)) == summarize(values, (5, 50, 95))


@pytest.fixture(scope="module")
def audit() -> AuditAccumulator:
    """An accumulator over 400 generated tickets, added in four parts and merged."""
    policies = slaengine.loads_policies(POLICY)
    events = list(slaengine.parse_lines(generate_lines(400, 7, START, 30)))
    timelines = list(slaengine.build_timelines(events).timelines.values())
    merged = AuditAccumulator(LocalBuckets("Europe/Berlin", "week"), views_for(("group",)))
    for part in range(4):
        one = AuditAccumulator(LocalBuckets("Europe/Berlin", "week"), views_for(("group",)))
        one.add_all(((t, evaluate_timeline(policies, t, NOW)) for t in timelines[part::4]), NOW)
        one.compact()
        merged.merge(one)
    return merged


def test_merged_parts_equal_one_pass(audit: AuditAccumulator) -> None:
    policies = slaengine.loads_policies(POLICY)
    events = list(slaengine.parse_lines(generate_lines(400, 7, START, 30)))
    timelines = list(slaengine.build_timelines(events).timelines.values())
    one = AuditAccumulator(LocalBuckets("Europe/Berlin", "week"), views_for(("group",)))
    # In the parts' order, so that every group sees its tickets in the same order.
    ordered = [t for part in range(4) for t in timelines[part::4]]
    one.add_all(((t, evaluate_timeline(policies, t, NOW)) for t in ordered), NOW)
    for view in one.views:
        mine, theirs = one.view(view), audit.view(view)
        assert sorted(mine) == sorted(theirs)
        for key, group in mine.items():
            assert _group_kpis(group) == _group_kpis(theirs[key]), (view, key)


def test_group_kpis_are_cached_copies_and_forgotten_on_change() -> None:
    group = GroupStats()
    group.add_clocks([("first_response", "achieved", 100, False, 50, 70, 150, 0)])
    first = group_kpis(group, with_histograms=True)
    assert group.kpis is not None
    first["metrics"]["first_response"]["histogram"]["business"][0] = 99  # a copy
    assert group_kpis(group, with_histograms=True) == group_kpis(group, True)
    assert (
        group_kpis(group, with_histograms=True)["metrics"]["first_response"]["histogram"][
            "business"
        ][0]
        == 1
    )
    assert "histogram" not in group_kpis(group)["metrics"]["first_response"]
    group.add_clocks([("first_response", "breached", -10, True, 40, -1, 30, 1)])
    assert group.kpis is None
    assert group_kpis(group)["metrics"]["first_response"]["breached"] == 1
    # Clocks per target, in ascending order of the target.
    assert list(group_kpis(group)["metrics"]["first_response"]["targets"].items()) == [
        ("30", 1), ("150", 1)
    ]  # fmt: skip
    other = GroupStats()
    other.merge(group)
    group_kpis(other)
    other.merge(group)
    assert group_kpis(other)["clocks"] == 4


def test_metric_kpis_are_the_summaries_of_the_values() -> None:
    stats = MetricStats(achieved=2, business=array("q", [30, 10, 20]), calendar=array("q", [5]))
    kpis = metric_kpis(stats, with_histograms=True)
    assert kpis["business_seconds"] == summarize([30, 10, 20])
    assert kpis["histogram"]["business"] == histogram([30, 10, 20])


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_prepared_kpis_equal_the_ones_computed_alone(audit: AuditAccumulator, jobs: int) -> None:
    groups = [group for view in audit.views for group in audit.view(view).values()]
    expected = [_group_kpis(group) for group in groups]
    for group in groups:
        group.kpis = None
    prepare_kpis(groups, jobs)
    assert all(group.kpis is not None for group in groups)
    assert [group_kpis(group, with_histograms=True) for group in groups] == expected


def test_audit_file_with_two_jobs_equals_one(tmp_path: Path) -> None:
    from slaengine.audit import AuditOptions, audit_file
    from slaengine.inputs.synthetic import write_jsonl

    events = tmp_path / "events.jsonl"
    write_jsonl(events, 300, 3, START, 30)
    policies = slaengine.loads_policies(POLICY)
    options = AuditOptions(now=NOW, zone="Europe/Berlin", by=("policy", "agent"))
    results = []
    for jobs in (1, 2):
        merged, _ = audit_file(policies, events, options, jobs=jobs)
        results.append({
            view: {key: group_kpis(group, True) for key, group in merged.view(view).items()}
            for view in merged.views
        })  # fmt: skip
    assert results[0] == results[1]
