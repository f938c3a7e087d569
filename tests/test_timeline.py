"""Events: parsing and validation, grouping into ordered timelines, ticket state over time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from slaengine.errors import EventError
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.timeline import Event, Timeline, build_timelines

T0 = "2025-12-01T09:00:00Z"
T0_EPOCH = int(dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC).timestamp())


def _at(minutes: int) -> str:
    """ISO text of T0 plus ``minutes``."""
    instant = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def raw_event() -> Callable[..., dict[str, Any]]:
    """A decoded event of ``type`` on ticket T-1 at T0, with any fields added or replaced."""

    def build(type_: str, **fields: Any) -> dict[str, Any]:
        return {"ticket": "T-1", "at": T0, "type": type_, **fields}

    return build


@pytest.fixture
def make_timeline() -> Callable[..., Timeline]:
    """A timeline of T-1 from decoded events given in input order (seq = position)."""

    def build(*objs: dict[str, Any]) -> Timeline:
        events = [parse_event(obj, seq=i, line=i) for i, obj in enumerate(objs, start=1)]
        built = build_timelines(events)
        assert built.problems == []
        return built.timelines["T-1"]

    return build


CREATED = {"channel": "email", "priority": "normal"}

# -- instants -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        pytest.param("2025-12-01T09:00:00Z", T0_EPOCH, id="zulu"),
        pytest.param("2025-12-01T10:00:00+01:00", T0_EPOCH, id="plus-offset"),
        pytest.param("2025-12-01T04:00:00-05:00", T0_EPOCH, id="minus-offset"),
        pytest.param("2025-12-01T09:00:00.999Z", T0_EPOCH, id="fraction-floored"),
        pytest.param("2025-12-01T09:00:00.999999+00:00", T0_EPOCH, id="microseconds-floored"),
        pytest.param("20251201T090000Z", T0_EPOCH, id="basic-format"),
        pytest.param("2025-12-01 09:00:00Z", T0_EPOCH, id="space-separator"),
        pytest.param("1969-12-31T23:59:59.5Z", -1, id="fraction-floored-before-epoch"),
    ],
)
def test_parse_instant_forms(text: str, epoch: int) -> None:
    assert parse_instant(text) == epoch


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "2025-12-01T09:00:00",
            "timestamp '2025-12-01T09:00:00' has no UTC offset; add 'Z' or e.g. '+01:00'",
            id="no-offset",
        ),
        pytest.param(
            "2025-12-01",
            "timestamp '2025-12-01' has no UTC offset; add 'Z' or e.g. '+01:00'",
            id="date-only",
        ),
        pytest.param("yesterday", "'at' is not an ISO 8601 timestamp: 'yesterday'", id="not-iso"),
        pytest.param(1764579600, "'at' must be an ISO 8601 string, got a number", id="number"),
        pytest.param(None, "'at' must be an ISO 8601 string, got null", id="null"),
    ],
)
def test_parse_instant_errors(value: object, message: str) -> None:
    with pytest.raises(EventError) as info:
        parse_instant(value)
    assert info.value.reason == message


# -- parse_event: every type ----------------------------------------------------------------


def test_created_event_with_every_field(raw_event: Callable[..., dict[str, Any]]) -> None:
    event = parse_event(
        raw_event(
            "created",
            id="e1",
            channel="Email",
            priority="high",
            status="open",
            customer="anna",
            group="billing",
            assignee="jonas",
            tags=["vip", "de"],
            fields={"tier": "gold", "seats": 3},
        ),
        seq=4,
        line=7,
    )
    assert event == Event(
        ticket="T-1",
        at=T0_EPOCH,
        type="created",
        seq=4,
        line=7,
        id="e1",
        channel="email",
        priority="high",
        status="open",
        customer="anna",
        group="billing",
        assignee="jonas",
        tags=("vip", "de"),
        fields={"tier": "gold", "seats": 3},
    )


def test_created_event_defaults(raw_event: Callable[..., dict[str, Any]]) -> None:
    event = parse_event(raw_event("created", **CREATED))
    assert event.status == "new"
    assert (event.id, event.customer, event.tags, event.fields) == (None, None, None, None)
    assert (event.seq, event.line) == (0, 0)


def test_message_event(raw_event: Callable[..., dict[str, Any]]) -> None:
    event = parse_event(raw_event("message", author="agent", agent="mia", public=False))
    assert (event.author, event.agent, event.public) == ("agent", "mia", False)


@pytest.mark.parametrize("author", ["customer", "agent", "bot", "system"])
def test_message_authors_and_public_default(
    raw_event: Callable[..., dict[str, Any]], author: str
) -> None:
    event = parse_event(raw_event("message", author=author))
    assert (event.author, event.public, event.agent) == (author, True, None)


@pytest.mark.parametrize("status", ["new", "open", "pending", "on_hold", "solved", "closed"])
def test_status_event(raw_event: Callable[..., dict[str, Any]], status: str) -> None:
    assert parse_event(raw_event("status", status=status)).status == status


def test_update_event_sets_only_what_is_given(raw_event: Callable[..., dict[str, Any]]) -> None:
    event = parse_event(
        raw_event("update", channel="Chat", priority="urgent", tags=[], fields={"a": None})
    )
    assert (event.channel, event.priority, event.tags, dict(event.fields or {})) == (
        "chat",
        "urgent",
        (),
        {"a": None},
    )
    assert (event.group, event.assignee, event.customer, event.status) == (None, None, None, None)


@pytest.mark.parametrize(
    "field", ["priority", "channel", "tags", "fields", "group", "assignee", "customer"]
)
def test_update_with_any_single_field_is_accepted(
    raw_event: Callable[..., dict[str, Any]], field: str
) -> None:
    value = {"priority": "low", "tags": ["x"], "fields": {"k": 1}}.get(field, "value")
    event = parse_event(raw_event("update", **{field: value}))
    assert event.type == "update"


@pytest.mark.parametrize(("score", "parsed"), [(5, 5.0), (4.5, 4.5), (0, 0.0)])
def test_csat_event(raw_event: Callable[..., dict[str, Any]], score: float, parsed: float) -> None:
    event = parse_event(raw_event("csat", score=score))
    assert event.score == parsed
    assert isinstance(event.score, float)


def test_numbers_are_accepted_as_ticket_and_id(raw_event: Callable[..., dict[str, Any]]) -> None:
    event = parse_event({**raw_event("csat", score=1), "ticket": 1001, "id": 7})
    assert (event.ticket, event.id) == ("1001", "7")


def test_custom_status_is_mapped(raw_event: Callable[..., dict[str, Any]]) -> None:
    mapping = {"waiting_on_customer": "pending"}
    status = parse_event(raw_event("status", status="waiting_on_customer"), status_map=mapping)
    created = parse_event(
        raw_event("created", status="waiting_on_customer", **CREATED), status_map=mapping
    )
    assert (status.status, created.status) == ("pending", "pending")


def test_unknown_custom_status_suggests_the_mapped_name(
    raw_event: Callable[..., dict[str, Any]],
) -> None:
    with pytest.raises(EventError) as info:
        parse_event(raw_event("status", status="waitng"), status_map={"waiting": "pending"})
    assert info.value.reason == (
        "'status' must be one of new, open, pending, on_hold, solved, closed, waiting, "
        "got 'waitng'; did you mean 'waiting'?"
    )


# -- parse_event: errors ----------------------------------------------------------------------

BASE = {"ticket": "T-1", "at": T0}


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param([1, 2], "an event must be a JSON object, got a list", id="list"),
        pytest.param("x", "an event must be a JSON object, got a string", id="string"),
        pytest.param(None, "an event must be a JSON object, got null", id="null"),
        pytest.param({}, "missing 'ticket'", id="no-ticket"),
        pytest.param({"ticket": "T-1"}, "missing 'at'", id="no-at"),
        pytest.param(
            {**BASE, "ticket": True, "type": "csat", "score": 1},
            "'ticket' must be a string, got a boolean",
            id="ticket-bool",
        ),
        pytest.param(
            BASE, "missing 'type' (one of created, message, status, update, csat)", id="no-type"
        ),
        pytest.param(
            {**BASE, "type": "craeted"},
            "'type' must be one of created, message, status, update, csat, got 'craeted'; "
            "did you mean 'created'?",
            id="type-typo",
        ),
        pytest.param(
            {**BASE, "type": 3},
            "'type' must be one of created, message, status, update, csat, got 3",
            id="type-number",
        ),
        pytest.param({**BASE, "type": "created"}, "missing 'channel'", id="created-no-channel"),
        pytest.param(
            {**BASE, "type": "created", "channel": "email"},
            "missing 'priority' (one of urgent, high, normal, low)",
            id="created-no-priority",
        ),
        pytest.param(
            {**BASE, "type": "created", "channel": "email", "priority": "hihg"},
            "'priority' must be one of urgent, high, normal, low, got 'hihg'; did you mean 'high'?",
            id="bad-priority",
        ),
        pytest.param(
            {**BASE, "type": "created", "channel": ["email"], "priority": "low"},
            "'channel' must be a string, got a list",
            id="channel-list",
        ),
        pytest.param(
            {**BASE, "type": "message"},
            "missing 'author' (one of customer, agent, bot, system)",
            id="message-no-author",
        ),
        pytest.param(
            {**BASE, "type": "message", "author": "agnet"},
            "'author' must be one of customer, agent, bot, system, got 'agnet'; "
            "did you mean 'agent'?",
            id="bad-author",
        ),
        pytest.param(
            {**BASE, "type": "message", "author": "agent", "public": "no"},
            "'public' must be true or false, got 'no'",
            id="public-not-bool",
        ),
        pytest.param({**BASE, "type": "status"}, "missing 'status'", id="status-missing"),
        pytest.param(
            {**BASE, "type": "status", "status": "pendng"},
            "'status' must be one of new, open, pending, on_hold, solved, closed, got 'pendng'; "
            "did you mean 'pending'?",
            id="bad-status",
        ),
        pytest.param(
            {**BASE, "type": "status", "status": 2},
            "'status' must be one of new, open, pending, on_hold, solved, closed, got 2",
            id="status-number",
        ),
        pytest.param(
            {**BASE, "type": "update"},
            "an update needs at least one of priority, channel, tags, fields, group, assignee, "
            "customer",
            id="update-with-nothing",
        ),
        pytest.param(
            {**BASE, "type": "update", "priority": None},
            "an update needs at least one of priority, channel, tags, fields, group, assignee, "
            "customer",
            id="update-with-only-nulls",
        ),
        pytest.param(
            {**BASE, "type": "update", "tags": "vip"},
            "'tags' must be a list of strings",
            id="tags-not-list",
        ),
        pytest.param(
            {**BASE, "type": "update", "tags": ["vip", 1]},
            "'tags' must be a list of strings",
            id="tags-not-strings",
        ),
        pytest.param(
            {**BASE, "type": "update", "fields": ["a"]},
            "'fields' must be an object, got a list",
            id="fields-not-object",
        ),
        pytest.param(
            {**BASE, "type": "csat"},
            "a csat event needs a numeric 'score', got null",
            id="csat-no-score",
        ),
        pytest.param(
            {**BASE, "type": "csat", "score": "5"},
            "a csat event needs a numeric 'score', got a string",
            id="csat-string-score",
        ),
        pytest.param(
            {**BASE, "type": "csat", "score": True},
            "a csat event needs a numeric 'score', got a boolean",
            id="csat-bool-score",
        ),
        pytest.param(
            {"ticket": "T-1", "at": "2025-12-01T09:00:00", "type": "csat", "score": 1},
            "timestamp '2025-12-01T09:00:00' has no UTC offset; add 'Z' or e.g. '+01:00'",
            id="at-without-offset",
        ),
    ],
)
def test_parse_event_errors(obj: object, message: str) -> None:
    with pytest.raises(EventError) as info:
        parse_event(obj)
    assert info.value.reason == message
    assert str(info.value) == message


def test_event_error_becomes_a_located_problem() -> None:
    error = EventError("missing 'at'", line=12, source="events.jsonl")
    assert str(error.to_problem()) == "events.jsonl:12: E400 missing 'at'"


# -- build_timelines ----------------------------------------------------------------------------


def _events(*objs: dict[str, Any]) -> list[Event]:
    return [parse_event(obj, seq=i, line=i) for i, obj in enumerate(objs, start=1)]


def test_events_are_ordered_by_instant_with_ties_in_input_order() -> None:
    events = _events(
        {"ticket": "T-1", "at": _at(10), "type": "message", "author": "agent", "id": "late"},
        {"ticket": "T-1", "at": _at(5), "type": "message", "author": "customer", "id": "tie-1"},
        {"ticket": "T-1", "at": _at(0), "type": "created", **CREATED, "id": "created"},
        {"ticket": "T-1", "at": _at(5), "type": "message", "author": "agent", "id": "tie-2"},
    )
    built = build_timelines(events)
    assert [e.id for e in built.timelines["T-1"].events] == ["created", "tie-1", "tie-2", "late"]
    assert built.problems == []


def test_ties_without_seq_keep_input_order() -> None:
    events = [
        parse_event({"ticket": "T-1", "at": T0, "type": "created", **CREATED, "id": "c"}),
        parse_event({"ticket": "T-1", "at": T0, "type": "status", "status": "open", "id": "s"}),
        parse_event({"ticket": "T-1", "at": T0, "type": "message", "author": "bot", "id": "m"}),
    ]
    assert [e.id for e in build_timelines(events).timelines["T-1"].events] == ["c", "s", "m"]


def test_tickets_keep_first_seen_order() -> None:
    events = _events(
        {"ticket": "B", "at": _at(9), "type": "created", **CREATED},
        {"ticket": "A", "at": _at(0), "type": "created", **CREATED},
    )
    assert list(build_timelines(events).timelines) == ["B", "A"]


def test_duplicate_ids_are_ignored_and_counted() -> None:
    events = _events(
        {"ticket": "T-1", "at": _at(0), "type": "created", **CREATED, "id": "e1"},
        {"ticket": "T-1", "at": _at(1), "type": "message", "author": "agent", "id": "e2"},
        {"ticket": "T-1", "at": _at(1), "type": "message", "author": "agent", "id": "e2"},
        {"ticket": "T-1", "at": _at(2), "type": "message", "author": "agent", "id": "e2"},
        {"ticket": "T-1", "at": _at(3), "type": "message", "author": "agent"},
        {"ticket": "T-1", "at": _at(3), "type": "message", "author": "agent"},
    )
    built = build_timelines(events)
    assert built.duplicates == 2
    assert [e.line for e in built.timelines["T-1"].events] == [1, 2, 5, 6]  # no id: all kept
    assert built.problems == []


def test_ticket_without_created_is_reported_and_dropped() -> None:
    events = _events(
        {"ticket": "T-1", "at": _at(0), "type": "created", **CREATED},
        {"ticket": "T-2", "at": _at(5), "type": "message", "author": "customer"},
        {"ticket": "T-2", "at": _at(1), "type": "status", "status": "open"},
    )
    built = build_timelines(events, source="ev.jsonl")
    assert list(built.timelines) == ["T-1"]
    assert [str(p) for p in built.problems] == [
        "ev.jsonl:2: E410 ticket 'T-2' has no 'created' event; its 2 events are ignored"
    ]


def test_second_created_is_reported_and_ignored() -> None:
    events = _events(
        {"ticket": "T-1", "at": _at(0), "type": "created", **CREATED},
        {"ticket": "T-1", "at": _at(3), "type": "created", "channel": "chat", "priority": "low"},
    )
    built = build_timelines(events, source="ev.jsonl")
    assert [e.line for e in built.timelines["T-1"].events] == [1]
    assert [str(p) for p in built.problems] == [
        "ev.jsonl:2: E411 ticket 'T-1' is already created (line 1); event ignored"
    ]


def test_event_before_created_is_reported_and_ignored() -> None:
    events = _events(
        {"ticket": "T-1", "at": _at(10), "type": "created", **CREATED},
        {"ticket": "T-1", "at": _at(5), "type": "message", "author": "customer"},
        {"ticket": "T-1", "at": _at(10), "type": "message", "author": "agent"},
    )
    built = build_timelines(events, source="ev.jsonl")
    assert [e.line for e in built.timelines["T-1"].events] == [1, 3]
    assert [(p.line, p.code) for p in built.problems] == [(2, "E412")]
    assert built.problems[0].message == "event is before ticket 'T-1' was created; event ignored"


def test_problems_are_sorted_by_line() -> None:
    events = _events(
        {"ticket": "T-2", "at": _at(0), "type": "message", "author": "agent"},
        {"ticket": "T-1", "at": _at(10), "type": "created", **CREATED},
        {"ticket": "T-1", "at": _at(5), "type": "status", "status": "open"},
        {"ticket": "T-1", "at": _at(20), "type": "created", **CREATED},
    )
    assert [(p.line, p.code) for p in build_timelines(events).problems] == [
        (1, "E410"),
        (3, "E412"),
        (4, "E411"),
    ]


# -- Timeline.state_at -----------------------------------------------------------------------


def test_state_at_creation(make_timeline: Callable[..., Timeline]) -> None:
    timeline = make_timeline(
        {
            "ticket": "T-1",
            "at": T0,
            "type": "created",
            "channel": "email",
            "priority": "high",
            "customer": "anna",
            "group": "billing",
            "tags": ["vip"],
            "fields": {"tier": "gold"},
        },
    )
    state = timeline.state_at(T0_EPOCH)
    assert (state.ticket, state.created, state.channel, state.priority, state.status) == (
        "T-1",
        T0_EPOCH,
        "email",
        "high",
        "new",
    )
    assert (state.customer, state.group, state.assignee) == ("anna", "billing", None)
    assert state.tags == frozenset({"vip"})
    assert dict(state.fields) == {"tier": "gold"}


def test_state_at_applies_updates_and_statuses(make_timeline: Callable[..., Timeline]) -> None:
    timeline = make_timeline(
        {
            "ticket": "T-1",
            "at": _at(0),
            "type": "created",
            **CREATED,
            "tags": ["a", "b"],
            "fields": {"tier": "gold", "region": "eu"},
            "group": "billing",
        },
        {"ticket": "T-1", "at": _at(10), "type": "status", "status": "pending"},
        {
            "ticket": "T-1",
            "at": _at(20),
            "type": "update",
            "priority": "urgent",
            "channel": "Chat",
            "tags": ["c"],
            "fields": {"tier": "silver", "seats": 2},
            "assignee": "mia",
        },
        {"ticket": "T-1", "at": _at(30), "type": "message", "author": "agent"},
    )
    state = timeline.state_at(T0_EPOCH + 25 * 60)
    assert (state.channel, state.priority, state.status) == ("chat", "urgent", "pending")
    assert (state.group, state.assignee) == ("billing", "mia")
    assert state.tags == frozenset({"c"})  # tags are replaced
    assert dict(state.fields) == {"tier": "silver", "region": "eu", "seats": 2}  # fields merged


def test_state_at_ignores_later_events(make_timeline: Callable[..., Timeline]) -> None:
    timeline = make_timeline(
        {"ticket": "T-1", "at": _at(0), "type": "created", **CREATED, "tags": ["a"]},
        {"ticket": "T-1", "at": _at(10), "type": "status", "status": "open"},
        {"ticket": "T-1", "at": _at(20), "type": "update", "priority": "low", "tags": []},
    )
    before_status = timeline.state_at(T0_EPOCH + 10 * 60 - 1)
    at_status = timeline.state_at(T0_EPOCH + 10 * 60)
    assert (before_status.status, before_status.priority) == ("new", "normal")
    assert (at_status.status, at_status.priority, at_status.tags) == (
        "open",
        "normal",
        frozenset({"a"}),
    )
    final = timeline.state_at(T0_EPOCH + 3600)
    assert (final.priority, final.tags) == ("low", frozenset())


def test_state_at_keeps_created_fields_unchanged(make_timeline: Callable[..., Timeline]) -> None:
    timeline = make_timeline(
        {"ticket": "T-1", "at": _at(0), "type": "created", **CREATED, "fields": {"a": 1}},
        {"ticket": "T-1", "at": _at(1), "type": "update", "fields": {"b": 2}},
    )
    assert dict(timeline.state_at(T0_EPOCH + 3600).fields) == {"a": 1, "b": 2}
    assert dict(timeline.state_at(T0_EPOCH).fields) == {"a": 1}
    assert dict(timeline.events[0].fields or {}) == {"a": 1}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"ticket": ""}, "'ticket' must not be empty"),
        ({"channel": ""}, "'channel' must not be empty"),
        ({"channel": "   "}, "'channel' must not be empty"),
    ],
    ids=["empty-ticket", "empty-channel", "blank-channel"],
)
def test_empty_identifiers_are_rejected(
    raw_event: Callable[..., dict[str, Any]], override: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventError) as caught:
        parse_event({**raw_event("created"), **override})
    assert caught.value.reason == message


def test_states_and_results_are_the_frozen_types_whatever_builds_them() -> None:
    # state_at and the engine fill a mutable class of the same slots, then give the object
    # the frozen type: it must be that type in every way (frozen, equal, copied, pickled).
    import dataclasses
    import pickle

    from slaengine import loads_policies
    from slaengine.engine import TicketResult, evaluate_timeline
    from slaengine.timeline import TicketState

    events = (
        Event("T-1", 100, "created", channel="email", priority="high", tags=("vip",)),
        Event("T-1", 200, "update", group="tier2"),
        Event("T-1", 300, "message", author="agent", agent="ann"),
    )
    state = Timeline("T-1", events).state_at(1000)
    assert type(state) is TicketState
    assert state == TicketState(
        "T-1", 100, "email", "high", "new", group="tier2", tags=frozenset({"vip"})
    )
    assert dataclasses.replace(state) == state
    assert pickle.loads(pickle.dumps(state)) == state
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.status = "open"  # type: ignore[misc]
    policies = loads_policies(
        "version: 1\npolicies:\n  - name: p\n    metrics:\n      first_response: {targets: 1h}\n"
    )
    result = evaluate_timeline(policies, Timeline("T-1", events), 1000)
    assert type(result) is TicketResult
    assert result == TicketResult("T-1", state, policies.policies[0], result.clocks)
    assert result.clocks[0].elapsed == 200
    copied = pickle.loads(pickle.dumps(result))  # its policy's calendars compare by identity
    assert type(copied) is TicketResult
    assert (copied.ticket, copied.state, copied.clocks) == ("T-1", state, result.clocks)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.policy = None  # type: ignore[misc]
