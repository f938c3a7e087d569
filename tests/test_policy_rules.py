"""Validation rules that guard against policies which load but silently do nothing."""

from __future__ import annotations

import pytest

import slaengine
from slaengine.durations import parse_duration
from slaengine.event_parsing import parse_event

BASE = """
calendars:
  c:
    timezone: UTC
    hours: {mon-fri: "09:00-17:00"}
    holidays: [HOLIDAY]
policies:
  - name: p
    match: MATCH
    calendar: c
    metrics: {first_response: {targets: 1h}}
"""


def problems_of(match: str = "{channel: email}", holiday: str = "2025-12-24") -> list[str]:
    text = BASE.replace("MATCH", match).replace("HOLIDAY", holiday)
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(text, "p.yaml")
    return [f"{p.code} {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ("{channel: []}", "E210 'channel: []' matches no ticket"),
        ("{tags: []}", "E210 'tags: []' matches no ticket"),
        ("{tags: {all: [a], none: []}}", "E210 'tags.none: []' matches no ticket"),
        ("{fields: {plan: []}}", "E210 'fields.plan: []' matches no ticket"),
        ("{channel: chat, not: {}}", "E210 'not' without conditions excludes every ticket"),
    ],
    ids=["channel", "tags", "tags-none", "fields", "empty-not"],
)
def test_match_that_can_never_hold_is_an_error(match, expected):
    assert any(p.startswith(expected) for p in problems_of(match)), problems_of(match)


@pytest.mark.parametrize(
    ("holiday", "expected"),
    [
        ("{country: DE, date: 2025-01-01}", "E103 a holiday is one of"),
        ("{date: 2025-01-01, from: 2025-01-02, to: 2025-01-03}", "E103 a holiday is one of"),
        ("{to: 2025-01-03}", "E103 a holiday is one of"),
        ("{subdivision: BE}", "E102 'subdivision' needs a 'country'"),
        ("{date: 2025-01-01, name: [x]}", "E103 a holiday's 'name' must be text"),
    ],
    ids=["country-and-date", "date-and-range", "to-without-from", "subdivision-alone", "name"],
)
def test_mixed_holiday_entries_are_errors(holiday, expected):
    found = problems_of(holiday=holiday)
    assert any(p.startswith(expected) for p in found), found


def test_non_scalar_target_is_described_not_dumped():
    text = BASE.replace("MATCH", "{channel: email}").replace("HOLIDAY", "2025-12-24")
    text = text.replace("{targets: 1h}", "{targets: {urgent: [1], high: 1h, normal: 1h, low: 1h}}")
    with pytest.raises(slaengine.PolicyError) as caught:
        slaengine.loads_policies(text, "p.yaml")
    (problem,) = caught.value.problems
    assert problem.message.endswith("got a list")
    assert "YSeq" not in str(problem)


@pytest.mark.parametrize("text", ["2d", "1d2h", "3 days", "1w"])
def test_days_and_weeks_are_refused_with_the_reason(text):
    with pytest.raises(ValueError, match="ambiguous in business time"):
        parse_duration(text)


def test_date_field_match_compares_with_event_strings():
    text = BASE.replace("MATCH", "{fields: {renewal: 2025-12-31}}").replace("HOLIDAY", "2025-12-24")
    policies = slaengine.loads_policies(text)
    event = parse_event(
        {
            "ticket": "t",
            "at": "2025-12-01T10:00:00Z",
            "type": "created",
            "channel": "email",
            "priority": "low",
            "fields": {"renewal": "2025-12-31"},
        }
    )
    (result,) = slaengine.evaluate(policies, slaengine.build_timelines([event]), event.at + 60)
    assert result.policy is not None
    assert result.policy.name == "p"
