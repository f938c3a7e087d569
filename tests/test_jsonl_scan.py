"""Lines read where they stand (``scan_line``) and tickets grouped by runs give exactly what
decoding and validating each line, and grouping event by event, give."""

from __future__ import annotations

import datetime as dt
import json
import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.inputs import jsonl
from slaengine.inputs.jsonl import _parse_checked, parse_block, parse_line
from slaengine.inputs.jsonl_scan import scan_line
from slaengine.timeline import (
    AUTHORS,
    EVENT_TYPES,
    PRIORITIES,
    STATUSES,
    Event,
    _scattered,
    build_timelines,
)
from test_event_fastpath import _validated

_AT = '"at": "2025-12-01T10:00:00Z"'
_MESSAGE = '{"ticket": "A", ' + _AT + ', "type": "message", "author": "agent"'
_CREATED = '{"ticket": "A", ' + _AT + ', "type": "created", "channel": "web", "priority": "low"'


@pytest.fixture(autouse=True)
def _read_in_place(monkeypatch):
    # Blocks read the usual line in place as compiled code does (the interpreter decodes it).
    monkeypatch.setattr(jsonl, "READS_IN_PLACE", True)


def _block(lines: list[str], status_map: dict[str, str]) -> tuple[list, list]:
    events: list = []
    problems: list = []
    parse_block(lines, 1, "s", status_map, problems, events)
    return events, problems


# Lines the scanner must read as the validating path does, or leave to it: each differs
# from a usual line in one way a careless reader would get wrong.
_TRICKY = [
    _MESSAGE + ', "ticket": "B"}',  # a key twice: JSON keeps the last
    _MESSAGE + ', "at": null}',
    _MESSAGE + ', "agent": "x", "agent": null}',
    # Characters beyond ASCII whose codes, packed as a word would be, spell "at" and "open".
    '{"ticket": "A", "\u6174": "2025-12-01T10:00:00Z", "type": "message", "author": "agent"}',
    '{"ticket": "A", ' + _AT + ', "type": "status", "status": "\u6f70\u656e"}',
    '{"ticket": "A\\"B", ' + _AT + ', "type": "status", "status": "open"}',  # an escape
    '{"ticket": "\\u0041", ' + _AT + ', "type": "status", "status": "open"}',
    '{"ticket": "A\tB", ' + _AT + ', "type": "status", "status": "open"}',  # a raw tab
    '{"ticket": "A\udcff", ' + _AT + ', "type": "status", "status": "open"}',  # not UTF-8
    '{"ticket": "\u00c4-\U0001f600", ' + _AT + ', "type": "status", "status": "open"}',
    _MESSAGE + ', "x": ' + "9" * 5000 + "}",  # a number too long for int()
    _MESSAGE + ', "x": 1234567890123456789012}',
    _MESSAGE + ', "x": 012}',  # a leading zero is not JSON
    _MESSAGE + ', "x": -}',
    _MESSAGE + ', "x": 1.5, "y": 1e3, "z": -0}',
    _MESSAGE + ', "x": true, "y": false, "z": null, "w": "text", "v": [1], "u": {}}',
    _MESSAGE + ', "x": tru}',
    _MESSAGE + ', "x": nul}',
    _MESSAGE + ', "x": n\u00f5ll}',
    _MESSAGE + ', "public": tr\u00f5e}',
    _MESSAGE.replace('"agent"}', '"ag\u00e5nt"}') + "}",
    _MESSAGE.replace('"author"', '"auth\u00efr"') + "}",
    _MESSAGE + ', "public": null}',
    _MESSAGE + ', "public": false}',
    _MESSAGE + ', "public": "false"}',
    _MESSAGE + ', "public": 0}',
    _MESSAGE + ', "agent": null}',
    _MESSAGE + ', "agent": 7}',
    _MESSAGE + ', "agent": ""}',
    _MESSAGE + ', "tags": "x"}',
    _MESSAGE + ', "fields": "x"}',
    _MESSAGE + ', "tags": null, "fields": null}',
    _MESSAGE + ', "id": 5}',
    _MESSAGE + ', "id": null}',
    _MESSAGE + ",}",  # a trailing comma
    _MESSAGE + "}}",
    _MESSAGE + "} x",
    _MESSAGE + "}\r",
    _MESSAGE + "}\r\n",
    _MESSAGE + "} \t",
    _MESSAGE + "}\n",
    " " + _MESSAGE + "}",
    _MESSAGE.replace(", ", ",") + "}",
    _MESSAGE.replace(": ", ":") + "}",
    _MESSAGE.replace(", ", ",  ") + "}",
    _MESSAGE.replace(": ", " : ") + "}",
    _MESSAGE.replace("{", "{ ") + "}",
    _MESSAGE + " }",
    _MESSAGE.replace('"author": "agent"', '"author": "Agent"') + "}",
    _MESSAGE.replace('"author": "agent"', '"author": "agents"') + "}",
    _MESSAGE.replace('"message"', '"messages"') + "}",
    _MESSAGE.replace('"message"', '"mess"') + "}",
    _MESSAGE.replace('"message"', "null") + "}",
    _MESSAGE.replace('"ticket": "A"', '"ticket": ""') + "}",
    _MESSAGE.replace('"ticket": "A"', '"ticket": 7') + "}",
    _MESSAGE.replace('"ticket": "A"', '"ticket": null') + "}",
    _MESSAGE.replace('"ticket": "A", ', "") + "}",
    _MESSAGE.replace(_AT + ", ", "") + "}",
    _MESSAGE.replace("10:00:00Z", "10:00:00+24:00") + "}",
    _MESSAGE.replace("10:00:00Z", "10:00:00.5Z") + "}",
    _MESSAGE.replace("10:00:00Z", "10:00:00+05:30") + "}",
    _MESSAGE.replace("2025-12-01", "2025-02-30") + "}",
    _MESSAGE.replace('"at": "2025-12-01T10:00:00Z"', '"at": null') + "}",
    _MESSAGE.replace('"at": "2025-12-01T10:00:00Z"', '"at": 1764583200') + "}",
    '{"ticket": "A", ' + _AT + ', "type": "status", "status": "waiting"}',  # the status map
    '{"ticket": "A", ' + _AT + ', "type": "status", "status": "Open"}',
    '{"ticket": "A", ' + _AT + ', "type": "status"}',
    '{"ticket": "A", ' + _AT + ', "type": "update", "status": "bogus", "group": "g"}',
    '{"ticket": "A", ' + _AT + ', "type": "update", "author": "nobody", "group": "g"}',
    '{"ticket": "A", ' + _AT + ', "type": "update"}',
    '{"ticket": "A", ' + _AT + ', "type": "update", "priority": "high", "channel": "Web"}',
    '{"ticket": "A", ' + _AT + ', "type": "update", "priority": "highest"}',
    '{"ticket": "A", ' + _AT + ', "type": "created", "channel": "Email", "priority": "low"}',
    '{"ticket": "A", ' + _AT + ', "type": "created", "channel": " ", "priority": "low"}',
    '{"ticket": "A", ' + _AT + ', "type": "created", "channel": "web"}',
    '{"ticket": "A", ' + _AT + ', "type": "created", "channel": "web", "priority": "low", '
    '"status": "pending", "author": "bot", "customer": "c", "group": "g", "assignee": "a"}',
    '{"ticket": "A", ' + _AT + ', "type": "csat", "score": 5}',
    '{"ticket": "A", ' + _AT + ', "type": "csat", "score": -3}',
    '{"ticket": "A", ' + _AT + ', "type": "csat", "score": 999999999999999999}',
    '{"ticket": "A", ' + _AT + ', "type": "csat", "score": 9999999999999999999}',
    '{"ticket": "A", ' + _AT + ', "type": "csat", "score": 4.5}',
    '{"ticket": "A", ' + _AT + ', "type": "csat", "score": "5"}',
    '{"ticket": "A", ' + _AT + ', "type": "csat"}',
    *(
        _CREATED + ', "fields": ' + fields + "}"
        for fields in (
            '{"plan": "pro", "seats": 3, "vip": true, "trial": false, "x": null}',
            "{}",
            '{"a": 1, "a": 2, "b": 3}',
            '{"a": {"b": 1}}',
            '{"a": [1]}',
            '{"a": 1.5}',
            '{"a\\"b": 1}',
            '{"a": "\\u0041"}',
            '{"a": 1,}',
            '{"a" 1}',
            '{"a":1,"b":"c"}',
            '{"a\tb": 1}',
            '{ "a": 1}',
            '{"a": 1 }',
            '{"a": 012}',
            '{"a": tru}',
            '{"a": nul}',
            '{"a": ' + "9" * 30 + "}",
            '{"a": "x"',
            "[]",
            '"x"',
            "null",
        )
    ),
    *(
        _CREATED + ', "tags": ' + tags + "}"
        for tags in (
            "[]",
            '["a", "b"]',
            '["a","b"]',
            '["a",]',
            '["a", 1]',
            '["a\\n"]',
            '[ "a"]',
            '["a" ]',
            '[["a"]]',
            '["a"',
            "{}",
            "null",
            '"a"',
        )
    ),
    _MESSAGE + ', "fields": {"a": {"b": 1}}, "tags": [1]}',
    _MESSAGE + ', "fields": {"a": 1}, "tags": ["x"]}',
    "{}",
    "{",
    "}",
    "",
    "[1]",
    '{"":1}',
    '{"ticket"}',
    '{"ticket": }',
    '{"ticket": "A"',
    '{"ticket" "A"}',
    '{"ticket": "A" ' + _AT + "}",
]


@pytest.mark.parametrize("line", _TRICKY, ids=range(len(_TRICKY)))
def test_a_line_is_read_as_the_validating_path_reads_it_or_left_to_it(line):
    scanned = scan_line(line, 3, "A")
    problems: list = []
    expected = _parse_checked(line, 3, "s", {"waiting": "pending"}, problems)
    if scanned is not None:
        assert scanned == expected
        assert problems == []
    # The block, and a line on its own, give the validating path's event and problems.
    status_map = {"waiting": "pending"}
    validated = _validated([line], status_map)
    assert _block([line], status_map) == validated
    alone: list = []
    event = parse_line(line, 1, "s", status_map, alone)
    assert ([] if event is None else [event], alone) == validated


def test_usual_lines_are_read_in_place():
    lines = [
        _MESSAGE + "}",
        _MESSAGE + ', "public": false, "agent": "ann", "id": "m1"}',
        '{"ticket": "A", ' + _AT + ', "type": "status", "status": "on_hold"}',
        '{"ticket": "A", ' + _AT + ', "type": "created", "channel": "Chat", "priority": "urgent"}',
        '{"ticket": "A", ' + _AT + ', "type": "update", "assignee": "bo", "group": "g"}',
        '{"ticket": "A", ' + _AT + ', "type": "csat", "score": 4}',
        '{"ticket": "\u00c4", ' + _AT + ', "type": "message", "author": "customer", "x": 1}',
        _MESSAGE.replace(", ", ",").replace(": ", ":") + "}\r\n",
        _CREATED + ', "fields": {"plan": "pro", "seats": -3, "vip": true}, "tags": ["a", "b"]}',
        _CREATED + ', "fields": {}, "tags": []}',
        # Text with every printable ASCII character but the quote and the backslash, and
        # beyond ASCII up to the surrogates and after them.
        _MESSAGE
        + ', "agent": "'
        + "".join(chr(c) for c in range(32, 127) if c not in (34, 92))
        + '", "id": "\ud7ff\ue000 \U0001f600!"}',
    ]
    for number, line in enumerate(lines, start=1):
        scanned = scan_line(line, number, "")
        assert scanned is not None, line
        assert scanned == _parse_checked(line, number, "s", {}, [])
        assert type(scanned) is Event  # equal as tuples is not enough


def test_the_vocabularies_are_read_in_full():
    # Every word of each vocabulary is read, as its own shared string.
    for kind in EVENT_TYPES:
        line = '{"ticket": "A", ' + _AT + f', "type": "{kind}"}}'
        event = scan_line(line.replace("}", ', "status": "open", "author": "bot", '
                                          '"channel": "web", "priority": "low", "score": 1}'),
                          1, "")  # fmt: skip
        assert event is not None
        assert event.type == kind
    for status in STATUSES:
        event = scan_line('{"ticket": "A", ' + _AT + f', "type": "status", "status": "{status}"}}',
                          1, "")  # fmt: skip
        assert event is not None
        assert event.status == status
    for author in AUTHORS:
        event = scan_line(_MESSAGE.replace('"agent"', f'"{author}"') + "}", 1, "")
        assert event is not None
        assert event.author == author
    for priority in PRIORITIES:
        event = scan_line('{"ticket": "A", ' + _AT + ', "type": "update", '
                          f'"priority": "{priority}"}}', 1, "")  # fmt: skip
        assert event is not None
        assert event.priority == priority


def test_a_ticket_equal_to_the_line_befores_is_its_string():
    previous = "".join(["T-", "1"])
    event = scan_line(_MESSAGE.replace('"A"', '"T-1"') + "}", 1, previous)
    assert event is not None
    assert event.ticket is previous
    other = scan_line(_MESSAGE.replace('"A"', '"T-2"') + "}", 1, previous)
    assert other is not None
    assert other.ticket == "T-2"


@pytest.mark.parametrize("raw", ["T-1", 'q"q', "x\ty", "a\\b", "\udcff", "\u00e9", "T-1\x7f"])
def test_a_ticket_like_the_line_befores_is_read_only_when_plain(raw):
    # The line before's ticket (which a decoder may have unescaped) met again as raw text
    # on the next line, twice over (the scanner remembers the last plain ticket it checked):
    # read where it stands only when the validating path reads the same event.
    line = _MESSAGE.replace('"A"', '"' + raw + '"') + "}"
    for previous in (raw, "".join([raw, ""]), raw):
        scanned = scan_line(line, 1, previous)
        expected = _validated([line], {})
        if scanned is not None:
            assert [scanned] == expected[0]
            assert scanned.ticket is previous
        else:
            assert raw in ('q"q', "x\ty", "a\\b", "\udcff")


_TEXT = st.sampled_from(["A", "B", "", "\u00e9", "a\\b", 'q"q', "x\ty", "\udcff", "\u2028", "7"])
_VALUE = st.one_of(
    _TEXT,
    st.sampled_from([*EVENT_TYPES, *STATUSES, *AUTHORS, *PRIORITIES, "waiting", "Open"]),
    st.sampled_from(
        ["2025-12-01T10:00:00Z", "2025-12-01T10:00:00+01:00", "2025-12-01T10:00:00.5Z", "x"]
    ),
    st.integers(-(10**20), 10**20),
    st.sampled_from([True, False, None, 2.5, [], {}, ["t"], {"plan": "pro"}]),
)
_KEY = st.sampled_from(
    ["ticket", "at", "type", "id", "status", "author", "agent", "public", "channel",
     "priority", "customer", "group", "assignee", "score", "tags", "fields", "other", "Ticket"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_KEY, _VALUE), max_size=9),
    st.sampled_from([(", ", ": "), (",", ":"), (" ,", " : ")]),
    st.booleans(),
)
def test_any_flat_object_is_read_as_the_validating_path_reads_it(pairs, separators, ascii_only):
    base = [("ticket", "A"), ("at", "2025-12-01T10:00:00Z"), ("type", "message"),
            ("author", "agent")]  # fmt: skip
    body = separators[0].join(
        json.dumps(key) + separators[1] + json.dumps(value, ensure_ascii=ascii_only)
        for key, value in [*base, *pairs]
    )
    line = "{" + body + "}"
    status_map = {"waiting": "pending"}
    validated = _validated([line], status_map)
    assert _block([line], status_map) == validated
    scanned = scan_line(line, 1, "A")
    assert scanned is None or [scanned] == validated[0]


def _ticket_events(rng: random.Random, ticket: int) -> list[str]:
    lines = []
    kinds = ["created"] + [rng.choice(["message", "status", "created"]) for _ in range(5)]
    if rng.random() < 0.2:
        kinds[0] = "message"  # no created first, or none at all
    for step, kind in enumerate(kinds[: rng.randrange(1, 7)]):
        minute = rng.choice([step, 3, 0])
        event = {"ticket": f"T{ticket}", "type": kind, "at": f"2025-12-01T10:{minute:02d}:00Z",
                 "channel": "web", "priority": "low", "author": "agent",
                 "status": "open"}  # fmt: skip
        if rng.random() < 0.8:
            event["id"] = str(rng.randrange(5))
        lines.append(json.dumps(event))
    return lines


def test_generated_lines_are_read_in_place_as_validated():
    from slaengine.inputs.synthetic import generate_lines

    start = dt.datetime(2025, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    lines = [line.rstrip("\n") for line in generate_lines(300, 5, start, 60)]
    events, problems = _block(lines, {})
    assert (events, problems) == _validated(lines, {})
    # Every generated line is read in place, and a ticket's events share its one string.
    assert all(type(scan_line(line, 1, "")) is Event for line in lines)
    assert {type(event) for event in events} == {Event}
    assert all(a.ticket is b.ticket for a, b in pairwise(events) if a.ticket == b.ticket)


@pytest.mark.parametrize("seed", range(6))
def test_grouped_runs_give_the_timelines_of_events_in_any_order(seed):
    # Tickets with events out of order, repeated ids, no id, no created, a second created,
    # events before created: grouped (runs), then the same events with one ticket split.
    rng = random.Random(seed)
    lines = [line for ticket in range(60) for line in _ticket_events(rng, ticket)]
    events: list = []
    problems: list = []
    parse_block(lines, 1, "s", {}, problems, events)
    built = build_timelines(events, "s", problems)
    # The reference: grouping event by event (what any input order gets).
    reference_problems = list(problems)
    timelines, duplicates = _scattered(events, "s", reference_problems)
    reference_problems.sort(key=lambda p: p.line)
    assert built.duplicates == duplicates > 0
    assert built.problems == reference_problems
    assert {p.code for p in built.problems} >= {"E410", "E411"}
    assert list(built.timelines.items()) == list(timelines.items())
    # A ticket split in two runs (each ticket's events still in their order): grouping by
    # runs gives up, with the same result.
    moved = next(i for i in range(len(events) - 1) if events[i + 1].ticket != events[i].ticket
                 and events[i - 1].ticket == events[i].ticket)  # fmt: skip
    split = events[:moved] + events[moved + 1 :] + [events[moved]]
    assert build_timelines(split, "s", problems) == built
