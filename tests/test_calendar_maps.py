"""Calendar maps: a ticket's calendar chosen from a field, its group or its customer."""

from __future__ import annotations

import json
from typing import Any

import pytest

import slaengine
from slaengine.calendar import format_utc
from slaengine.cli import main
from slaengine.event_parsing import parse_event
from slaengine.explain import explain_ticket
from slaengine.policy.calendar_maps import CalendarMap
from slaengine.report.explain import explanation_to_dict

POLICIES = """\
version: 1
calendars:
  berlin: {timezone: Europe/Berlin, hours: {mon-fri: ["09:00-17:00"]}}
  new-york: {timezone: America/New_York, hours: {mon-fri: ["09:00-17:00"]}}
calendar_maps:
  by-region:
    by: {field: region}
    map: {emea: berlin, amer: new-york}
    default: berlin
    VALUE
policies:
  - name: all
    calendar: by-region
    metrics:
      first_response: {targets: 4h}
      resolution: {targets: 8h, calendar: 24x7}
"""


def load(value: str = "") -> slaengine.PolicySet:
    return slaengine.loads_policies(POLICIES.replace("VALUE", value), "p.yaml")


def event(at: str, kind: str = "created", **attrs: Any) -> slaengine.Event:
    body: dict[str, Any] = {"ticket": "t1", "at": at, "type": kind, **attrs}
    if kind == "created":
        body.setdefault("channel", "email")
        body.setdefault("priority", "normal")
    return parse_event(body)


def first_response(policies: slaengine.PolicySet, events: list[slaengine.Event], now: str):
    (result,) = slaengine.evaluate(policies, slaengine.build_timelines(events), parse(now))
    return result, next(c for c in result.clocks if c.metric == "first_response")


def parse(text: str) -> int:
    return event(text).at


# Monday 2026-03-02 15:00Z is 16:00 in Berlin (CET) and 10:00 in New York (EST).
CREATED = "2026-03-02T15:00:00Z"
NOW = "2026-03-02T16:00:00Z"


@pytest.mark.parametrize(
    ("fields", "calendar", "due"),
    [
        # Berlin: 1h on Monday, 3h on Tuesday from 09:00 CET -> 12:00 CET = 11:00Z.
        ({"region": "emea"}, "berlin", "2026-03-03T11:00:00Z"),
        # New York: 10:00 EST + 4h = 14:00 EST = 19:00Z, the same day.
        ({"region": "amer"}, "new-york", "2026-03-02T19:00:00Z"),
        ({"region": "apac"}, "berlin", "2026-03-03T11:00:00Z"),  # not in the map: default
        ({}, "berlin", "2026-03-03T11:00:00Z"),  # no value: default
    ],
    ids=["emea", "amer", "unmapped-default", "missing-default"],
)
def test_the_field_chooses_the_calendar(fields, calendar, due):
    result, clock = first_response(load(), [event(CREATED, fields=fields)], NOW)
    assert clock.calendar == calendar
    assert format_utc(clock.due) == due
    # A metric with its own calendar keeps it; the policy's map chooses only for the others.
    resolution = next(c for c in result.clocks if c.metric == "resolution")
    assert resolution.calendar == "24x7"


def test_first_value_rule_keeps_the_calendar_when_the_field_changes():
    events = [
        event(CREATED, fields={"region": "amer"}),
        event("2026-03-02T15:30:00Z", "update", fields={"region": "emea"}),
    ]
    _, clock = first_response(load(), events, NOW)
    assert clock.calendar == "new-york"
    assert format_utc(clock.due) == "2026-03-02T19:00:00Z"


def test_explain_names_the_current_value_rule():
    events = [
        event(CREATED, fields={"region": "amer"}),
        event("2026-03-02T15:30:00Z", "update", fields={"region": "emea"}),
    ]
    timeline = slaengine.build_timelines(events).timelines["t1"]
    explanation = explain_ticket(load("value: current"), timeline, parse(NOW))
    assert dict(explanation.calendars)["first_response"].chosen_by == (
        "calendar map 'by-region': field 'region' = 'emea' (current value) -> 'berlin' "
        "(p.yaml:8:17)"
    )


def test_current_value_rule_recomputes_the_whole_clock_in_the_new_calendar():
    events = [
        event(CREATED, fields={"region": "amer"}),
        event("2026-03-02T15:30:00Z", "update", fields={"region": "emea"}),
    ]
    policies = load("value: current")
    _, before = first_response(policies, events, "2026-03-02T15:10:00Z")
    assert before.calendar == "new-york"
    _, after = first_response(policies, events, NOW)
    assert after.calendar == "berlin"  # counted in Berlin hours from creation
    assert format_utc(after.due) == "2026-03-03T11:00:00Z"


def test_first_value_set_after_creation_chooses_from_then_on():
    events = [event(CREATED), event("2026-03-02T15:30:00Z", "update", fields={"region": "amer"})]
    policies = load()
    _, early = first_response(policies, events, "2026-03-02T15:10:00Z")
    assert early.calendar == "berlin"  # no value yet: the default
    _, later = first_response(policies, events, NOW)
    assert later.calendar == "new-york"


@pytest.mark.parametrize(
    ("created", "region", "due"),
    [
        # New York moves to EDT on Sunday 2026-03-08, Berlin three weeks later. Created Friday
        # 15:00 EST: 2h on Friday, 2h on Monday from 09:00 EDT (13:00Z), so 11:00 EDT = 15:00Z.
        ("2026-03-06T20:00:00Z", "amer", "2026-03-09T15:00:00Z"),
        # Berlin: Friday 21:00 CET is closed; Monday 09:00 CET + 4h = 13:00 CET = 12:00Z.
        ("2026-03-06T20:00:00Z", "emea", "2026-03-09T12:00:00Z"),
        # New York falls back on Sunday 2026-11-01 (Berlin did on 25 October). Created Friday
        # 16:00 EDT: 1h on Friday, 3h on Monday from 09:00 EST (14:00Z), so 12:00 EST = 17:00Z.
        ("2026-10-30T20:00:00Z", "amer", "2026-11-02T17:00:00Z"),
    ],
    ids=["spring-forward-new-york", "berlin-same-instant", "fall-back-new-york"],
)
def test_dst_of_the_chosen_zone(created, region, due):
    _, clock = first_response(
        load(), [event(created, fields={"region": region})], created.replace("T20", "T21")
    )
    assert format_utc(clock.due) == due


def test_group_and_customer_sources():
    text = POLICIES.replace("VALUE", "").replace(
        "by: {field: region}\n    map: {emea: berlin, amer: new-york}",
        "by: group\n    map: {us-team: new-york}",
    )
    policies = slaengine.loads_policies(text)
    _, clock = first_response(policies, [event(CREATED, group="us-team")], NOW)
    assert clock.calendar == "new-york"
    text = text.replace("by: group\n    map: {us-team:", "by: customer\n    map: {acme:")
    policies = slaengine.loads_policies(text)
    _, clock = first_response(policies, [event(CREATED, customer="acme")], NOW)
    assert clock.calendar == "new-york"
    _, clock = first_response(policies, [event(CREATED, customer="other")], NOW)
    assert clock.calendar == "berlin"


def test_number_and_boolean_field_values_match_their_text():
    text = POLICIES.replace("VALUE", "").replace(
        "map: {emea: berlin, amer: new-york}", "map: {1: new-york, true: new-york}"
    )
    policies = slaengine.loads_policies(text)
    for value in (1, True):
        _, clock = first_response(policies, [event(CREATED, fields={"region": value})], NOW)
        assert clock.calendar == "new-york", value


def test_a_metric_may_name_a_map_of_its_own():
    text = POLICIES.replace("VALUE", "").replace("calendar: by-region\n", "calendar: berlin\n")
    text = text.replace("calendar: 24x7}", "calendar: by-region}")
    policies = slaengine.loads_policies(text)
    (result,) = slaengine.evaluate(
        policies,
        slaengine.build_timelines([event(CREATED, fields={"region": "amer"})]),
        parse(NOW),
    )
    calendars = {c.metric: c.calendar for c in result.clocks}
    assert calendars == {"first_response": "berlin", "resolution": "new-york"}


def test_resolved_policies_are_cached_and_plain_policies_untouched():
    policies = load()
    policy = policies.by_name("all")
    assert isinstance(policy.calendar_map, CalendarMap)
    one = [event(CREATED, fields={"region": "amer"})]
    two = [event(CREATED, fields={"region": "amer"}, ticket="t2")]
    first = policy.for_ticket(one, slaengine.build_timelines(one).timelines["t1"].state_at(0))
    again = policy.for_ticket(two, slaengine.build_timelines(two).timelines["t2"].state_at(0))
    assert first is again
    assert first.calendar.name == "new-york"
    # The compiled calendar of the policy set itself: nothing is compiled per ticket.
    assert first.calendar is policies.calendars["new-york"]
    assert first.maps == ()
    plain = slaengine.loads_policies(
        "policies: [{name: p, metrics: {first_response: {targets: 1h}}}]"
    ).by_name("p")
    assert plain.maps == ()
    assert plain.for_ticket(one, first_response_state(one)) is plain


def first_response_state(events):
    return slaengine.build_timelines(events).timelines["t1"].state_at(events[-1].at)


def test_explain_says_which_entry_chose_the_calendar():
    policies = load()
    timeline = slaengine.build_timelines([event(CREATED, fields={"region": "amer"})]).timelines[
        "t1"
    ]
    explanation = explain_ticket(policies, timeline, parse(NOW))
    calendars = dict(explanation.calendars)
    chosen = calendars["first_response"].chosen_by
    assert chosen == (
        "calendar map 'by-region': field 'region' = 'amer' (first value) -> 'new-york' "
        "(p.yaml:8:31)"
    )
    assert calendars["resolution"].chosen_by is None
    body = explanation_to_dict(explanation)
    assert body["calendars"][0]["chosen_by"] == chosen
    assert "chosen_by" not in body["calendars"][1]
    missing = slaengine.build_timelines([event(CREATED, fields={"region": "apac"})])
    explanation = explain_ticket(policies, missing.timelines["t1"], parse(NOW))
    assert dict(explanation.calendars)["first_response"].chosen_by == (
        "calendar map 'by-region': field 'region' = 'apac' (first value) is not in the map; "
        "default 'berlin'"
    )


def test_explain_terminal_shows_the_chosen_by_column(tmp_path, capsys):
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text(POLICIES.replace("VALUE", ""))
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps(
            {
                "ticket": "t1",
                "at": CREATED,
                "type": "created",
                "channel": "email",
                "priority": "normal",
                "fields": {"region": "amer"},
            }
        )
        + "\n"
    )
    code = main(
        [
            "explain",
            "--ticket",
            "t1",
            "--at",
            NOW,
            "--policies",
            str(policy_file),
            "--events",
            str(events),
        ]
    )
    code = code if code is not None else 0
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Chosen by" in out
    assert "calendar map 'by-region'" in out


def problems(text: str) -> list[str]:
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(text, "p.yaml")
    return [f"{p.line}:{p.column}: {p.code} {p.message}" for p in caught.value.problems]


BROKEN = """\
version: 1
calendars:
  berlin: {timezone: Europe/Berlin, hours: {mon-fri: ["09:00-17:00"]}}
  short-fri: {timezone: UTC, hours: {mon-thu: ["09:00-17:00"], fri: ["09:00-12:00"]}}
calendar_maps:
  by-region:
    by: {field: region}
    map: {emea: berlin, amer: new-yrok}
    default: berlni
  berlin:
    by: group
    map: {a: berlin}
    default: berlin
  odd:
    by: grp
    value: latest
    map: {}
  no-default:
    by: customer
    map: {x: berlin}
  days:
    by: group
    map: {a: short-fri}
    default: berlin
policies:
  - name: p
    calendar: by-regoin
    metrics:
      first_response: {targets: 4h}
  - name: q
    match: {channel: chat}
    calendar: days
    metrics:
      resolution: {targets: 2 working days}
"""


def test_check_reports_every_calendar_map_problem_with_line_and_column():
    found = problems(BROKEN)
    expected = [
        "8:31: E301 unknown calendar 'new-yrok'; expected one of 24x7, berlin, short-fri, "
        "by-region, odd, no-default, days",
        "9:14: E301 unknown calendar 'berlni'",
        "10:3: E104 'berlin' is already the name of a calendar",
        "15:9: E219 unknown calendar map source 'grp'; expected group, customer or "
        "{field: NAME}; did you mean 'group'?",
        "16:12: E219 unknown value rule 'latest' of calendar map 'odd'; expected one of "
        "first, current",
        "17:10: E102 'map' of calendar map 'odd' is empty",
        "19:5: E102 calendar map 'no-default' is missing required key 'default'",
        "27:15: E301 unknown calendar 'by-regoin'",
        "34:7: E215 working-day targets of resolution need a calendar whose open days are all "
        "equally long; the calendars of map 'days' differ",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in found), (line, found)
    assert any("did you mean 'by-region'" in p for p in found if p.startswith("27:15"))


def test_check_command_prints_file_line_column(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:8:31: E301 unknown calendar 'new-yrok'" in out


def test_a_map_key_that_is_empty_or_a_by_mapping_without_field_is_an_error():
    text = POLICIES.replace("VALUE", "").replace(
        "by: {field: region}\n    map: {emea: berlin, amer: new-york}",
        "by: {group: x}\n    map: {~: berlin}",
    )
    found = problems(text)
    assert any(p.startswith("7:9: E219 'by' as a mapping must be {field: NAME}") for p in found)
    assert any(p.startswith("8:11: E219 an empty value cannot choose a calendar") for p in found)


def test_live_engine_schedules_in_the_chosen_calendar(tmp_path):
    from slaengine.live import LiveEngine, Store

    text = POLICIES.replace("VALUE", "").replace(
        "first_response: {targets: 4h}", "first_response: {targets: 4h, warn_at: [50%]}"
    )
    store = Store.open(str(tmp_path / "state.db"))
    try:
        engine = LiveEngine(slaengine.loads_policies(text), store, lambda n: ("ops",))
        body = {"ticket": "t1", "at": CREATED, "type": "created", "channel": "email",
                "priority": "normal", "fields": {"region": "amer"}}  # fmt: skip
        assert engine.ingest([body], parse(CREATED)).accepted == 1
        status = engine.status("t1", parse(NOW))
        assert status is not None
        first = next(m for m in status.metrics if m.metric == "first_response")
        # New York hours: due 19:00Z, the 50% warning after 2 business hours at 17:00Z.
        assert format_utc(first.due) == "2026-03-02T19:00:00Z"
        assert first.next_alert is not None
        assert format_utc(first.next_alert.at) == "2026-03-02T17:00:00Z"
    finally:
        store.close()
