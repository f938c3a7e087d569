"""The synthetic timeline generator: deterministic, valid and realistic enough to benchmark."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path

import pytest

import slaengine
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.inputs.synthetic import (
    CHANNEL_MIX,
    generate_events,
    generate_lines,
    to_event_objects,
    write_jsonl,
)
from slaengine.timeline import CHANNELS

START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
DAYS = 90
END = START + dt.timedelta(days=DAYS)
POLICIES = Path(__file__).resolve().parent.parent / "policies"


@pytest.fixture(scope="module")
def batch_2000() -> list[dict[str, object]]:
    """2,000 generated tickets' events (seed 7), shared by the read-only tests."""
    return list(generate_events(2000, seed=7, start=START, days=DAYS))


def test_same_seed_same_events() -> None:
    first = list(generate_lines(300, seed=11, start=START, days=30))
    second = list(generate_lines(300, seed=11, start=START, days=30))
    assert first == second


def test_different_seed_different_events() -> None:
    assert list(generate_lines(300, seed=11, start=START, days=30)) != list(
        generate_lines(300, seed=12, start=START, days=30)
    )


def test_every_event_parses(batch_2000: list[dict[str, object]]) -> None:
    for number, obj in enumerate(batch_2000, start=1):
        parse_event(obj, seq=number, line=number)  # raises EventError on anything wrong


def test_every_line_parses_through_the_reader() -> None:
    problems: list[slaengine.Problem] = []
    lines = list(generate_lines(500, seed=3, start=START, days=DAYS))
    events = list(slaengine.parse_lines(lines, "<synthetic>", problems=problems))
    assert problems == []
    assert len(events) == len(lines)


def test_about_ten_events_per_ticket(batch_2000: list[dict[str, object]]) -> None:
    per_ticket = len(batch_2000) / 2000
    assert 8.0 <= per_ticket <= 12.0


def test_channel_mix_has_every_channel_and_email_leads(batch_2000: list[dict[str, object]]) -> None:
    created = collections.Counter(e["channel"] for e in batch_2000 if e["type"] == "created")
    assert set(created) == set(CHANNELS) == set(CHANNEL_MIX)
    assert created.most_common(1)[0][0] == "email"
    assert 0.34 <= created["email"] / 2000 <= 0.46
    priorities = collections.Counter(e["priority"] for e in batch_2000 if e["type"] == "created")
    assert priorities["urgent"] < priorities["high"] < priorities["normal"]


def test_each_ticket_has_one_created_event_first(batch_2000: list[dict[str, object]]) -> None:
    by_ticket: dict[object, list[dict[str, object]]] = collections.defaultdict(list)
    for event in batch_2000:
        by_ticket[event["ticket"]].append(event)
    assert len(by_ticket) == 2000
    for events in by_ticket.values():
        assert [e["type"] for e in events].count("created") == 1
        assert events[0]["type"] == "created"
        instants = [parse_instant(e["at"]) for e in events]
        assert instants == sorted(instants)
        assert min(instants) == instants[0]


def test_events_lie_in_the_window_with_unique_ids(batch_2000: list[dict[str, object]]) -> None:
    instants = [parse_instant(e["at"]) for e in batch_2000]
    assert min(instants) >= int(START.timestamp())
    assert max(instants) < int(END.timestamp())
    ids = [e["id"] for e in batch_2000]
    assert len(set(ids)) == len(ids)


def test_realistic_lifecycles(batch_2000: list[dict[str, object]]) -> None:
    statuses = collections.Counter(e.get("status") for e in batch_2000 if e["type"] == "status")
    assert {"open", "pending", "on_hold", "solved", "closed"} <= set(statuses)
    authors = collections.Counter(
        (e["author"], e.get("public", True)) for e in batch_2000 if e["type"] == "message"
    )
    assert authors[("agent", True)]
    assert authors[("customer", True)]
    assert authors[("bot", True)]
    assert authors[("agent", False)]  # internal notes
    kinds = collections.Counter(e["type"] for e in batch_2000)
    assert kinds["csat"]
    assert kinds["update"]
    assert any(e["type"] == "update" and "priority" in e for e in batch_2000)


def test_arrivals_peak_in_berlin_weekday_business_hours(
    batch_2000: list[dict[str, object]],
) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))  # hour buckets only; DST shifts them by one
    local = [
        dt.datetime.fromtimestamp(parse_instant(e["at"]), berlin)
        for e in batch_2000
        if e["type"] == "created"
    ]
    office = sum(1 for t in local if t.weekday() < 5 and 9 <= t.hour < 17)
    night = sum(1 for t in local if t.hour < 6)
    assert office > 0.5 * len(local)
    assert night < 0.1 * len(local)


def test_some_tickets_still_open_at_the_end(batch_2000: list[dict[str, object]]) -> None:
    policies = slaengine.load_policies(POLICIES)
    timelines = slaengine.build_timelines(to_event_objects(2000, seed=7, start=START, days=DAYS))
    results = slaengine.evaluate(policies, timelines, END)
    open_tickets = [r for r in results if r.state.status not in ("solved", "closed")]
    assert 0 < len(open_tickets) < len(results) // 2


def test_generated_batch_evaluates_with_shipped_policies() -> None:
    policies = slaengine.load_policies(POLICIES)
    timelines = slaengine.build_timelines(
        to_event_objects(1000, seed=5, start=START, days=DAYS, status_map=policies.status_map)
    )
    assert timelines.problems == []
    assert timelines.duplicates == 0
    assert len(timelines.timelines) == 1000
    results = slaengine.evaluate(policies, timelines, END)
    assert len(results) == 1000
    assert all(r.matched for r in results)  # the shipped policies end with a catch-all
    states = collections.Counter(c.state for r in results for c in r.clocks)
    assert states["achieved"]
    assert states["breached"]
    used = {r.policy.name for r in results if r.policy is not None}
    assert {"social-messaging", "live-chat", "phone", "email-and-web"} <= used
    for result in results:  # the JSON form works for every result
        json.dumps(slaengine.ticket_to_dict(result))


def test_write_jsonl_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    count = write_jsonl(path, 50, seed=1, start=START, days=10)
    timelines = slaengine.read_events(path)
    assert count == len(path.read_text(encoding="utf-8").splitlines())
    assert timelines.problems == []
    assert len(timelines.timelines) == 50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"tickets": -1}, "tickets", id="negative-tickets"),
        pytest.param({"days": 0}, "days", id="no-days"),
        pytest.param({"start": dt.datetime(2025, 9, 1)}, "naive", id="naive-start"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"tickets": 1, "seed": 0, "start": START, "days": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_events(**arguments)  # type: ignore[arg-type]
