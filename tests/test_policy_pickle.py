"""Loaded policies pickle: a spawn-based process pool or a cluster's workers can take them."""

from __future__ import annotations

import copyreg
import datetime as dt
import multiprocessing
import pickle
import types
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import slaengine
from slaengine.engine import evaluate
from slaengine.inputs.synthetic import to_event_objects
from slaengine.policy.model import PolicySet
from slaengine.policy.semantics import PRESETS
from slaengine.readonly import ReadOnlyMap
from slaengine.report.json import ticket_to_dict
from slaengine.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIRS = [
    ROOT / "policies",
    ROOT / "benchmarks" / "policies",
    ROOT / "plugins" / "slaengine-django-helpdesk" / "tests" / "policies",
]
START = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 11, 20, 12, tzinfo=dt.UTC)
PRESET_POLICY = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
    holidays: [{country: DE, subdivision: BE}, 2025-11-14]
policies:
  - name: desk
    semantics: {preset}
    calendar: office
    match: {channel: [email, web, chat]}
    metrics:
      first_response: {targets: {urgent: 1h, high: 2h, normal: 4h, low: 8h}, warn_at: [50%]}
      next_response: {targets: 4h}
      periodic_update: {targets: 8h}
      resolution: {targets: 40h, escalations: [{after: 4h, notify: [lead]}]}
  - name: rest
    calendar: 24x7
    metrics:
      first_response: {targets: 2h}
"""


def _timelines(status_map: Mapping[str, str]) -> list[Timeline]:
    events = list(to_event_objects(150, 7, START, days=14, status_map=status_map))
    return list(slaengine.build_timelines(events).timelines.values())


def _figures(policies: PolicySet, timelines: list[Timeline]) -> list[dict[str, object]]:
    return [ticket_to_dict(result) for result in evaluate(policies, timelines, NOW)]


MAPPED_POLICY = """\
version: 1
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: ["09:00-17:00"]}
  late:
    timezone: America/New_York
    hours: {mon-sat: ["08:00-20:00"]}
calendar_maps:
  by-group:
    by: group
    map: {technical: late}             # a group of the synthetic desk
    default: office
policies:
  - name: desk
    calendar: by-group
    metrics:
      first_response: {targets: 4h}
      resolution: {targets: 24h, pause_when: [pending]}
"""
CASES = [path.relative_to(ROOT).as_posix() for path in POLICY_DIRS] + [*PRESETS, "calendar map"]


def _load(case: str) -> PolicySet:
    """A shipped policy directory, or a policy under the named semantics preset."""
    if case == "calendar map":
        return slaengine.loads_policies(MAPPED_POLICY, "map.yaml")
    if case in PRESETS:
        return slaengine.loads_policies(PRESET_POLICY.replace("{preset}", case), "preset.yaml")
    return slaengine.load_policies(ROOT / case)


def test_no_reducer_is_registered_for_the_builtin_mapping_proxy() -> None:
    import slaengine.distributed.runner  # noqa: F401 - imported for any side effect

    assert types.MappingProxyType not in copyreg.dispatch_table
    with pytest.raises(TypeError, match="mappingproxy"):
        pickle.dumps(types.MappingProxyType({}))


@pytest.mark.parametrize("case", CASES)
def test_a_pickled_policy_set_evaluates_like_the_original(case: str) -> None:
    policies = _load(case)
    again = pickle.loads(pickle.dumps(policies, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(again, PolicySet)
    assert again.status_map == policies.status_map
    assert sorted(again.calendars) == sorted(policies.calendars)
    assert [p.name for p in again.policies] == [p.name for p in policies.policies]
    timelines = _timelines(policies.status_map)
    expected = _figures(policies, timelines)
    assert sum(len(t["metrics"]) for t in expected) > 100  # type: ignore[arg-type]
    assert _figures(again, timelines) == expected


def test_a_read_only_map_pickles_and_stays_read_only() -> None:
    source = {"urgent": 3600, "low": 7200}
    frozen = ReadOnlyMap(source)
    source["urgent"] = 1  # the map holds its own copy
    assert frozen == {"urgent": 3600, "low": 7200}
    assert pickle.loads(pickle.dumps(frozen)) == frozen
    assert type(pickle.loads(pickle.dumps(frozen))) is ReadOnlyMap
    with pytest.raises(TypeError):
        frozen["urgent"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        frozen.update({"low": 1})  # type: ignore[attr-defined]
    assert not hasattr(frozen, "__dict__")
    assert (frozen.get("low"), frozen.get("x"), "low" in frozen, len(frozen)) == (
        7200,
        None,
        True,
        2,
    )


def test_a_spawn_process_pool_evaluates_tickets() -> None:
    policies = slaengine.load_policies(ROOT / "policies")
    timelines = _timelines(policies.status_map)[:40]
    expected = _figures(policies, timelines)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.submit(evaluate, policies, timelines, NOW).result(timeout=120)
    assert [ticket_to_dict(r) for r in results] == expected
    assert any(r.clocks for r in results)
