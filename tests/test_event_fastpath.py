"""The parsing fast paths (instants by table look-up, a block of lines in one loop, grouping
by runs) give exactly what the general paths give."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import slaengine.event_fastpath as fastpath
from slaengine.errors import EventError
from slaengine.event_fastpath import canonical_epoch_values, canonical_event, quick_instant
from slaengine.event_parsing import parse_event, parse_instant
from slaengine.inputs.jsonl import parse_block, parse_line
from slaengine.timeline import Event, _by_ticket, build_timelines

INSTANTS = [
    "2025-12-01T10:00:00Z", "2025-12-01T10:00:00+00:00", "2025-12-01T10:00:00-05:30",
    "2025-12-01T10:00:00+14:00", "2025-12-01T10:00:00+01:00:30", "2025-12-01T10:00:00+01:00:00.5",
    "2025-12-01T23:59:59-23:59", "1900-01-01T00:00:00Z", "1900-01-01T00:00:00+01:00",
    "1899-12-31T23:59:59Z", "2199-12-31T23:59:59-12:00", "2200-01-01T00:00:00+01:00",
    "1969-12-31T23:59:59Z", "2024-02-29T12:00:00Z", "2025-02-29T12:00:00Z", "2025-12-01 10:00:00Z",
    "2025-12-01T10:00Z", "2025-12-01T10Z", "20251201T100000Z", "2025-W49-1T10:00:00Z",
    "2025-335T10:00:00Z", "2025-12-01T10:00:00.000Z", "2025-12-01T10:00:00.5Z",
    "2025-12-01T24:00:00Z", "2025-12-01T10:00:60Z", "2025-12-01", " 2025-12-01T10:00:00Z",
    "2025-12-01T10:00:00z", "2025-12-01t10:00:00Z", "2025-12-01T10:00:00",
    "2025-12-01T10:00:00+24:00", "2025-12-01T10:00:00Z ", "2025-12-01T10:00:00ZZ",
    "2025-12-01T10:00:00+0100", "\u0662\u0660\u0662\u0665-12-01T10:00:00Z",
    "2025-12-01T10:00:00\u00a0Z", "2025-12-01T10:60:00Z", "2025-13-01T10:00:00Z",
]  # fmt: skip


_COMMON = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _reference(text: str) -> int | None:
    try:
        return parse_instant(text)
    except EventError:
        return None


@pytest.mark.parametrize("text", INSTANTS)
def test_quick_instant_is_parse_instant_or_declines(text):
    # Twice: the first reading may teach the tables, the second reads from them.
    for _ in range(2):
        found = quick_instant(text)
        assert found is None or found == _reference(text)
    if _COMMON.fullmatch(text):  # the usual forms are always taken
        assert (quick_instant(text) is not None) == (_reference(text) is not None)


def test_learned_endings_apply_to_other_dates_and_times():
    # The tables (what the interpreter reads instants with; compiled code reads these digits).
    table = fastpath.table_instant
    assert table("2025-12-01T10:00:00+03:00") == parse_instant("2025-12-01T10:00:00+03:00")
    assert ":00+03:00" in fastpath._ENDINGS
    for text in ("2026-03-29T01:59:00+03:00", "1999-12-31T23:00:00+03:00"):
        assert table(text) == quick_instant(text) == parse_instant(text)


_OFFSETS = st.sampled_from(["Z", "+00:00", "-00:00", "+01:00", "-05:30", "+13:45", "+02:00:30"])


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1890, 1, 1), max_value=dt.datetime(2210, 12, 31)),
    _OFFSETS,
    st.booleans(),
)
def test_any_common_instant_reads_as_parse_instant(when, offset, fraction):
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + (".000" if fraction else "") + offset
    for _ in range(2):
        found = quick_instant(text)
        assert found is None or found == _reference(text)
    if not fraction and 1900 <= when.year <= 2199:
        assert quick_instant(text) == _reference(text)


def test_the_tables_stay_bounded(monkeypatch):
    monkeypatch.setattr(fastpath, "_DATES", {})
    monkeypatch.setattr(fastpath, "_MAX_DATES", 5)
    start = dt.date(2025, 1, 1)
    for day in range(20):
        text = (start + dt.timedelta(days=day)).isoformat() + "T08:00:00Z"
        assert fastpath.table_instant(text) == quick_instant(text) == parse_instant(text)
        assert len(fastpath._DATES) <= 5


_BASE = {"ticket": "A", "at": "2025-12-01T10:00:00Z"}
_OBJECTS = [
    {**_BASE, "type": "created", "channel": "Email", "priority": "high", "tags": ["x"],
     "fields": {"plan": "pro", "seats": 3}, "id": "1", "author": "agent"},
    {**_BASE, "type": "message", "author": "agent", "agent": "ann", "public": False},
    {**_BASE, "type": "message", "author": "agent", "public": 1},
    {**_BASE, "type": "status", "status": "pending", "id": "s"},
    {**_BASE, "type": "status", "status": "waiting"},
    {**_BASE, "type": "update", "priority": "low"},
    {**_BASE, "type": "update", "status": "open"},
    {**_BASE, "type": "csat", "score": 5},
    {**_BASE, "type": "csat", "score": 2**70},
    {**_BASE, "type": ["message"], "author": "agent"},
    {**_BASE, "type": "message", "author": ["agent"]},
    {**_BASE, "ticket": 7, "type": "message", "author": "bot"},
    {**_BASE, "at": "2025-12-01T10:00:00+02:00", "type": "message", "author": "bot"},
    {**_BASE, "at": "2025-12-01T10:00:00", "type": "message", "author": "bot"},
]  # fmt: skip


@pytest.mark.parametrize("obj", _OBJECTS, ids=range(len(_OBJECTS)))
def test_canonical_event_is_parse_event_or_declines(obj):
    fast = canonical_event(obj, 4, 4)
    if fast is not None:
        assert fast == parse_event(obj, seq=4, line=4)
        assert fast.type == obj["type"]
        assert type(fast) is Event  # equal as tuples is not enough


def test_epoch_values_take_the_instant_as_given():
    event = canonical_epoch_values(
        2, 2, "T", 1_764_583_200, "message", None, None, None, None, None, None, None, None,
        None, "customer", True, None, None,
    )  # fmt: skip
    assert event == parse_event(
        {"ticket": "T", "at": "2025-12-01T10:00:00Z", "type": "message", "author": "customer"},
        seq=2,
        line=2,
    )
    assert type(event) is Event


def _lines() -> list[str]:
    lines = [json.dumps(obj) for obj in _OBJECTS]
    return [*lines, "", "  ", "not json", "[1]", '{"ticket": "A"} x', "{", lines[0], " " + lines[1]]


def test_parse_block_is_parse_line_per_line():
    lines = _lines()
    status_map = {"waiting": "pending"}
    expected, problems, last = [], [], 0
    for number, line in enumerate(lines, start=10):
        event = parse_line(line, number, "s", status_map, problems)
        if event is not None:
            expected.append(event)
        if event is not None or line.strip():
            last = number
    events: list = []
    found: list = []
    assert parse_block(lines, 10, "s", status_map, found, events) == (10 + len(lines), last)
    assert events == expected
    assert found == problems


def _events(count: int, seed: int) -> list:
    rng = random.Random(seed)
    lines = []
    for ticket in range(count):
        lines.append(json.dumps({"ticket": f"T{ticket}", "at": "2025-12-01T10:00:00Z",
                                 "type": "created", "channel": "web", "priority": "low",
                                 "id": "c"}))  # fmt: skip
        for step in range(rng.randrange(0, 6)):
            at = f"2025-12-01T{rng.randrange(9, 12)}:{rng.randrange(60):02d}:00Z"
            lines.append(json.dumps({"ticket": f"T{ticket}", "at": at, "type": "message",
                                     "author": "agent", "id": str(rng.randrange(4))}))  # fmt: skip
            if step == 2:
                lines.append(lines[-1])  # a duplicate
    events: list = []
    parse_block(lines, 1, "s", {}, [], events)
    return events


@pytest.mark.parametrize("seed", range(4))
def test_grouping_by_runs_is_grouping_by_event(seed):
    grouped = _events(80, seed)
    rng = random.Random(seed)
    shuffled = list(grouped)
    rng.shuffle(shuffled)
    # A grouped list with a ticket split in two, and a mostly shuffled one.
    split = grouped[:30] + grouped[40:] + grouped[30:40]
    for events in (grouped, shuffled, split):
        reference: dict[str, list] = {}
        for event in events:
            reference.setdefault(event.ticket, []).append(event)
        found = _by_ticket(events)
        assert list(found) == list(reference)
        assert found == reference
    # Grouped, the runs path; and the timelines are those of the same events given one by one.
    assert build_timelines(grouped, "s") == build_timelines(iter(grouped), "s")
    assert build_timelines(grouped, "s").duplicates > 0


def test_an_offset_of_a_whole_day_is_a_problem_of_its_line():
    line = '{"ticket": "A", "at": "2025-12-01T10:00:00+24:00", "type": "message", "author": "bot"}'
    problems: list = []
    assert parse_line(line, 3, "s", {}, problems) is None
    (problem,) = problems
    assert (problem.line, problem.code) == (3, "E400")
    assert "24 hours" in problem.message


# -- instants read digit by digit (what compiled code runs) ----------------------------------


@pytest.mark.parametrize("text", INSTANTS)
def test_digit_instant_is_parse_instant_or_declines(text):
    found = fastpath.digit_instant(text)
    assert found == fastpath._NOT_READ or found == _reference(text)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", text):
        assert (found != fastpath._NOT_READ) == (_reference(text) is not None)


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1890, 1, 1), max_value=dt.datetime(2210, 12, 31)),
    st.sampled_from(["Z", "+00:00", "-00:00", "+01:00", "-05:30", "+13:45", "-23:59", "+23:59"]),
)
def test_digit_instant_reads_every_usual_instant(when, offset):
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + offset
    expected = _reference(text)
    assert fastpath.digit_instant(text) == (fastpath._NOT_READ if expected is None else expected)


@pytest.mark.parametrize("year", [1900, 1904, 2000, 2024, 2025, 2100, 2199])
def test_digit_instant_knows_each_months_days(year):
    # Day 0 to 32 of every month: a day a month does not have is left to parse_instant.
    for month in range(1, 13):
        for day in range(33):
            text = f"{year:04d}-{month:02d}-{day:02d}T23:59:59-01:00"
            expected = _reference(text)
            found = fastpath.digit_instant(text)
            assert found == (fastpath._NOT_READ if expected is None else expected), text


@pytest.mark.parametrize(
    "text",
    ["2025-12-01T10:00:00+01:60", "2025-12-01T10:00:00+24:00", "2025-12-01T10:00:00*01:00",
     "2025-12-01T10:00:00+01-00", "2025-12-01T10:00:00.5Z", "2025-12-01T10:00:0aZ",
     "2025-12-01T10:00:00\uff3a", "\uff12025-12-01T10:00:00Z", "2025-12-01T10:00:00+01:00:00"],
)  # fmt: skip
def test_digit_instant_leaves_the_rest_to_the_tables(text):
    assert fastpath.digit_instant(text) == fastpath._NOT_READ
    assert quick_instant(text) in (None, _reference(text))


@pytest.mark.parametrize("ending", ["Z", "+01:00"])
@pytest.mark.parametrize("odd", ["/", ":", "a", " ", "\x00", "\u0663", "\uff11", "\U0001d7ce"])
def test_digit_instant_declines_any_other_character_for_a_digit(ending, odd):
    # Each digit's place, with the characters either side of "0" to "9" among the others.
    text = "2025-12-01T10:00:00" + ending
    for place, char in enumerate(text):
        if char.isdigit():
            assert fastpath.digit_instant(text[:place] + odd + text[place + 1 :]) == (
                fastpath._NOT_READ
            ), (place, odd)
    assert fastpath.digit_instant(text) == _reference(text)


# -- a block of lines: the fast path against the validating path, line by line ---------------


def _validated(lines: list[str], status_map: dict[str, str]) -> tuple[list, list]:
    # Every line decoded by the standard library and validated in full (no fast path).
    from slaengine.inputs.jsonl import _parse_checked

    events, problems = [], []
    for number, line in enumerate(lines, start=1):
        event = _parse_checked(line, number, "s", status_map, problems)
        if event is not None:
            events.append(event)
    return events, problems


def _block(lines: list[str], status_map: dict[str, str]) -> tuple[list, list]:
    events: list = []
    problems: list = []
    parse_block(lines, 1, "s", status_map, problems, events)
    return events, problems


def test_a_bad_line_in_a_block_is_reported_alone():
    from slaengine.inputs.synthetic import generate_lines

    start = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    lines = [line.rstrip("\n") for line in generate_lines(30, 3, start, 10)]
    bad = len(lines) // 2
    lines[bad] = lines[bad].replace('"at": "', '"at": "x')
    events, problems = _block(lines, {})
    assert [(p.line, p.code) for p in problems] == [(bad + 1, "E400")]
    assert "'at' is not an ISO 8601 timestamp" in problems[0].message
    assert [e.line for e in events] == [n for n in range(1, len(lines) + 1) if n != bad + 1]
    assert (events, problems) == _validated(lines, {})


@pytest.mark.parametrize("offset", [0, 2, -5])
def test_generated_lines_parse_as_the_validating_path_gives(offset):
    from slaengine.inputs.synthetic import generate_lines

    start = dt.datetime(2025, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=offset)))
    lines = [line.rstrip("\n") for line in generate_lines(400, 11, start, 120)]
    events, problems = _block(lines, {})
    assert problems == []
    assert len(events) == len(lines)
    assert (events, problems) == _validated(lines, {})
    assert {type(event) for event in events} == {Event}


_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
_REAL_CASES = [
    ("twitter", "twcs_first5000/twcs_first5000.csv"),
    ("volvo", "volvo_bpic2013_incidents/VINST-new.csv"),
]


@pytest.mark.parametrize(("kind", "relative"), _REAL_CASES, ids=[c[1] for c in _REAL_CASES])
def test_real_data_parse_as_the_validating_path_gives(kind, relative):
    from slaengine.importers import IMPORTERS, ImportOptions

    path = _REAL / relative
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    lines = [json.dumps(event) for event in IMPORTERS[kind].events(path, ImportOptions())]
    events, problems = _block(lines, {})
    assert len(events) == len(lines)
    assert (events, problems) == _validated(lines, {})
