"""The engine's policy selection gives, for every ticket, what ``PolicySet.select`` gives.

The engine decides each distinct tuple of what the matches read once and remembers the
answer; these tickets differ in what is read and in what is not, so a tuple missing
something read, or keyed on too little, gives some ticket another ticket's policy.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from slaengine import build_timelines, evaluate, parse_event
from slaengine.policy import loads_policies
from slaengine.policy.model import MatchReads, PolicySet
from slaengine.timeline import TicketState, TimelineSet

POLICIES = """
version: 1
policies:
  - name: new-vip
    effective_from: 2025-12-01T12:00:00+00:00
    match: {tags: {any: [vip]}}
    metrics: {first_response: {targets: 10m}}
  - name: vip
    match: {tags: {any: [vip], none: [spam]}}
    metrics: {first_response: {targets: 15m}}
  - name: gold
    match: {fields: {plan: [gold]}, not: {group: [billing]}}
    metrics: {first_response: {targets: 20m}}
  - name: urgent-chat
    match: {channel: chat, priority: urgent}
    metrics: {first_response: {targets: 25m}}
  - name: anna-ann
    match: {customer: anna, assignee: ann}
    metrics: {first_response: {targets: 30m}}
  - name: billing
    match: {group: billing, tags: {all: [invoice, late]}}
    metrics: {first_response: {targets: 35m}}
  - name: email
    match: {channel: email}
    metrics: {first_response: {targets: 40m}}
"""

CREATED = ("2025-12-01T09:00:00Z", "2025-12-01T13:00:00Z")
NOW = dt.datetime(2025, 12, 2, tzinfo=dt.UTC)


def _timelines(tickets: Iterable[dict[str, Any]]) -> TimelineSet:
    events = []
    for number, attributes in enumerate(tickets, start=1):
        created = {"ticket": f"T{number}", "type": "created", "at": CREATED[0], **attributes}
        events.append(parse_event(created, seq=number, line=number))
    return build_timelines(events)


def _varied() -> list[dict[str, Any]]:
    """Tickets over every combination of a few values of each attribute a match reads,
    plus one that no match reads (``source``)."""
    tickets = []
    for at, channel, priority, group, who, tags, plan, source in itertools.product(
        CREATED,
        ("email", "chat"),
        ("urgent", "low"),
        (None, "billing"),
        ((None, None), ("anna", "ann"), ("anna", "bob")),
        ((), ("vip",), ("vip", "spam"), ("invoice", "late"), ("invoice",)),
        (None, "gold"),
        ("web", "api"),
    ):
        ticket: dict[str, Any] = {"at": at, "channel": channel, "priority": priority}
        customer, assignee = who
        ticket.update(
            {
                k: v
                for k, v in (("group", group), ("customer", customer), ("assignee", assignee))
                if v is not None
            }
        )
        if tags:
            ticket["tags"] = list(tags)
        fields: dict[str, Any] = {"source": source}
        if plan is not None:
            fields["plan"] = plan
        ticket["fields"] = fields
        tickets.append(ticket)
    return tickets


def _assert_select_agrees(policies: PolicySet, timelines: TimelineSet) -> set[str | None]:
    results = evaluate(policies, timelines, NOW)
    assert len(results) == len(timelines.timelines)
    for result in results:
        assert result.policy is policies.select(result.state), result.ticket
    return {None if r.policy is None else r.policy.name for r in results}


def test_every_ticket_gets_the_policy_select_gives() -> None:
    policies = loads_policies(POLICIES)
    chosen = _assert_select_agrees(policies, _timelines(_varied()))
    # Every policy and the unmatched answer came up: the tickets tell them all apart.
    assert chosen == {p.name for p in policies.policies} | {None}


def test_an_evaluation_after_another_gives_the_same_policies() -> None:
    policies = loads_policies(POLICIES)
    timelines = _timelines(_varied())
    first = [r.policy for r in evaluate(policies, timelines, NOW)]
    reversed_order = list(reversed(timelines.timelines.values()))
    second = [r.policy for r in evaluate(policies, reversed_order, NOW)]
    assert first == list(reversed(second))


def test_a_custom_condition_is_asked_for_every_ticket() -> None:
    asked: list[str] = []

    def odd_ticket(ticket: TicketState) -> bool:
        asked.append(ticket.ticket)
        return int(ticket.ticket[1:]) % 2 == 1

    policies = loads_policies(
        "version: 1\npolicies:\n  - name: odd\n    match: {conditions: [odd-ticket]}\n"
        "    metrics: {first_response: {targets: 1h}}\n  - name: rest\n"
        "    metrics: {first_response: {targets: 2h}}\n",
        conditions={"odd-ticket": odd_ticket},
    )
    same = [{"channel": "email", "priority": "low"}] * 6  # alike in everything else
    results = evaluate(policies, _timelines(same), NOW)
    assert [r.policy.name for r in results if r.policy] == ["odd", "rest"] * 3
    assert sorted(set(asked)) == [f"T{n}" for n in range(1, 7)]


def test_a_field_value_that_is_not_hashable_is_decided_alone() -> None:
    policies = loads_policies(POLICIES)
    tickets = [
        {"channel": "chat", "priority": "low", "fields": {"plan": ["gold"]}},
        {"channel": "email", "priority": "low", "fields": {"plan": ["gold"]}},
        {"channel": "email", "priority": "low", "fields": {"plan": "gold"}},
    ]
    assert _assert_select_agrees(policies, _timelines(tickets)) == {None, "email", "gold"}


def test_more_distinct_tuples_than_are_remembered() -> None:
    policies = loads_policies(
        "version: 1\npolicies:\n  - name: even\n"
        f"    match: {{customer: [{', '.join(f'c{n}' for n in range(0, 5000, 2))}]}}\n"
        "    metrics: {first_response: {targets: 1h}}\n"
    )
    tickets = [{"channel": "email", "priority": "low", "customer": f"c{n}"} for n in range(5000)]
    assert _assert_select_agrees(policies, _timelines(tickets)) == {"even", None}


@pytest.mark.parametrize(
    ("match", "reads"),
    [
        pytest.param("{}", MatchReads(), id="catch-all"),
        pytest.param(
            "{channel: chat, priority: urgent}",
            MatchReads(frozenset({"channel", "priority"})),
            id="attributes",
        ),
        pytest.param(
            "{tags: {any: [a], all: [b], none: [c]}, fields: {plan: gold}}",
            MatchReads(tags=frozenset("abc"), fields=frozenset({"plan"})),
            id="tags-and-fields",
        ),
        pytest.param(
            "{group: billing, not: {customer: anna, tags: [x], fields: {seats: 5}}}",
            MatchReads(frozenset({"group", "customer"}), frozenset("x"), frozenset({"seats"})),
            id="not",
        ),
        pytest.param("{conditions: [always]}", None, id="custom"),
        pytest.param("{not: {conditions: [always]}}", None, id="custom-in-not"),
    ],
)
def test_what_a_match_reads(
    match: str, reads: MatchReads | None, policies_with: Callable[[str], PolicySet]
) -> None:
    policies = policies_with(match)
    assert policies.policies[0].match.reads() == reads
    assert policies.select_reads() == reads


@pytest.fixture
def policies_with() -> Callable[[str], PolicySet]:
    def make(match: str) -> PolicySet:
        return loads_policies(
            f"version: 1\npolicies:\n  - name: p\n    match: {match}\n"
            "    metrics: {first_response: {targets: 1h}}\n",
            conditions={"always": lambda _ticket: True},
        )

    return make


def test_policies_that_read_the_priority_alone_are_keyed_on_it() -> None:
    policies = loads_policies(
        "version: 1\npolicies:\n  - name: urgent\n    match: {priority: urgent}\n"
        "    metrics: {first_response: {targets: 1h}}\n  - name: high\n"
        "    match: {priority: [high]}\n    metrics: {first_response: {targets: 2h}}\n"
        "  - name: rest\n    metrics: {first_response: {targets: 4h}}\n"
    )
    tickets = [
        {"channel": channel, "priority": priority, "customer": customer}
        for channel, priority, customer in itertools.product(
            ("email", "chat"), ("urgent", "high", "normal", "low"), ("anna", "bob")
        )
    ]
    chosen = _assert_select_agrees(policies, _timelines(tickets))
    assert chosen == {"urgent", "high", "rest"}
