"""Warnings before a target and escalations after a breach: where the clock reaches them."""

from __future__ import annotations

import pytest

import slaengine
from slaengine.calendar import format_utc
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.report.json import clock_to_dict

T0 = parse_instant("2025-12-01T10:00:00Z")  # Monday, 11:00 in Berlin

POLICY = """
calendars:
  office:
    timezone: Europe/Berlin
    hours: {mon-fri: "09:00-17:00"}
policies:
  - name: chat
    match: {channel: chat}
    metrics:
      first_response:
        targets: 1h
        warn_at: [80%, {at: 50%, notify: [lead]}]
        escalations:
          - {after: 0m, notify: [lead]}
          - {after: 2h, notify: [manager, director]}
        pause_when: [on_hold]
  - name: email
    calendar: office
    metrics:
      first_response:
        targets: 2h
        escalations: [{after: 2h}]
"""


@pytest.fixture(scope="module")
def policies() -> slaengine.PolicySet:
    return slaengine.loads_policies(POLICY, "alerts.yaml")


def _clock(policies, steps, now, channel="chat", created=T0):
    events = [
        {
            "ticket": "T",
            "at": format_utc(created),
            "type": "created",
            "channel": channel,
            "priority": "normal",
        }
    ]
    for minute, kind, extra in steps:
        events.append({"ticket": "T", "at": format_utc(T0 + minute * 60), "type": kind, **extra})
    timelines = slaengine.build_timelines([parse_event(e, seq=i) for i, e in enumerate(events)])
    (result,) = slaengine.evaluate(policies, timelines, now)
    return result.clocks[0]


def _at(minutes):
    return None if minutes is None else T0 + minutes * 60


def test_running_clock_projects_every_point(policies):
    clock = _clock(policies, [], T0 + 20 * 60)
    got = [(a.kind, a.level, a.at, a.notify) for a in clock.alerts]
    assert got == [
        ("warning", 1, _at(30), ("lead",)),  # levels follow the clock, not the writing order
        ("warning", 2, _at(48), ()),
        ("escalation", 1, _at(60), ("lead",)),
        ("escalation", 2, _at(180), ("manager", "director")),
    ]


def test_pause_delays_points_and_hides_unreached_ones(policies):
    steps = [(40, "status", {"status": "on_hold"}), (70, "status", {"status": "open"})]
    paused = _clock(policies, steps[:1], T0 + 50 * 60)
    assert [a.at for a in paused.alerts] == [_at(30), None, None, None]
    resumed = _clock(policies, steps, T0 + 75 * 60)
    # 40 minutes counted before the pause; 48 is reached 8 minutes after 70.
    assert [a.at for a in resumed.alerts] == [_at(30), _at(78), _at(90), _at(210)]


def test_stopped_clock_keeps_only_points_it_reached(policies):
    clock = _clock(policies, [(40, "message", {"author": "agent"})], T0 + 90 * 60)
    assert clock.state == "achieved"
    assert [a.at for a in clock.alerts] == [_at(30), None, None, None]


def test_escalation_after_counts_business_hours(policies):
    # Friday 16:00 Berlin, 2h target: due Monday 10:00; two business hours later, 12:00.
    created = parse_instant("2025-12-05T16:00:00+01:00")
    clock = _clock(policies, [], created + 60, channel="email", created=created)
    assert clock.due == parse_instant("2025-12-08T10:00:00+01:00")
    (escalation,) = clock.alerts
    assert escalation.at == parse_instant("2025-12-08T12:00:00+01:00")


def test_alerts_in_json(policies):
    data = clock_to_dict(_clock(policies, [], T0))
    assert data["alerts"][0] == {
        "kind": "warning",
        "level": 1,
        "at": "2025-12-01T10:30:00Z",
        "notify": ["lead"],
    }


@pytest.mark.parametrize(
    ("metric", "code", "needle"),
    [
        ("{targets: 1h, warn_at: [120%]}", "E211", "got '120%'"),
        ("{targets: 1h, warn_at: [0%]}", "E211", "from 1% to 99%"),
        ("{targets: 1h, warn_at: [50%, {at: 50%}]}", "E211", "given twice"),
        ("{targets: 1h, warn_at: [{notify: [x]}]}", "E102", "'at'"),
        ("{targets: 1h, escalations: [{after: 2h}, {after: 1h}]}", "E212", "increasing"),
        ("{targets: 1h, escalations: [{after: 2d}]}", "E201", "ambiguous"),
        ("{targets: 1h, escalations: [{after: 1h, notfy: [x]}]}", "E101", "did you mean 'notify'"),
    ],
    ids=["over-99", "zero", "twice", "no-at", "order", "days", "typo"],
)
def test_bad_alert_rules_are_located_problems(metric, code, needle):
    text = f"policies:\n  - name: p\n    metrics:\n      first_response: {metric}\n"
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(text, "p.yaml")
    problems = caught.value.problems
    assert any(p.code == code and needle in p.message and p.line == 4 for p in problems), problems


def test_warning_levels_follow_the_share_and_an_unsorted_list_is_a_warning(tmp_path):
    text = """
policies:
  - name: chat
    calendar: 24x7
    metrics:
      first_response:
        targets: 1h
        warn_at: [80%, 50%]
"""
    policies = slaengine.loads_policies(text, "warn.yaml")
    [metric] = policies.policies[0].metrics
    assert [(rule.level, rule.percent) for rule in metric.alerts] == [(1, 50), (2, 80)]
    (tmp_path / "warn.yaml").write_text(text, encoding="utf-8")
    from slaengine.policy import read_policies

    _, problems = read_policies([tmp_path])
    [problem] = problems
    assert (problem.code, problem.line, problem.column) == ("W211", 8, 24)
    assert "50% comes after 80%" in problem.message
