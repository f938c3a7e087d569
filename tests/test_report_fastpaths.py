"""The JSON Lines and CSV writers' direct text is the plain path's text, whatever the values.

``ticket_json`` / ``ticket_json_line`` must write what ``json.dumps(ticket_to_dict(r),
ensure_ascii=False)`` writes, and ``csv_renderer()`` what :mod:`csv`'s writer writes for
``ticket_rows``: for names that need escaping or quoting, text outside ASCII, lone
surrogates, ``None`` in every optional field, every clock state and stop reason, instants
before 1970 and far ahead, and events with offsets that are not whole hours. These tests
also run against the compiled wheel (``tests/test_compiled.py``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.calendar import format_utc
from slaengine.clocks import Alert, ClockResult
from slaengine.engine import TicketResult, evaluate
from slaengine.inputs import parse_lines
from slaengine.inputs.synthetic import generate_lines
from slaengine.policy import load_policies
from slaengine.policy.model import Policy
from slaengine.report import csv as csv_report
from slaengine.report import json as json_report
from slaengine.report.csv import csv_renderer, ticket_rows
from slaengine.report.json import ticket_json, ticket_json_line, ticket_to_dict
from slaengine.timeline import TicketState, build_timelines
from slaengine.vocabulary import ClockState, StopReason

ROOT = Path(__file__).resolve().parents[1]
# Text the encoders must escape or quote, text they leave alone, text outside ASCII.
ODD = [
    "plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "tab\there", "x\x00y", "\x01\x1f\x7f",
    "back\\slash", "Zoë 東京", "\u2028\u2029", "emoji \U0001f600", "lone \ud800 surrogate",
    " spaced ", "", "null", "1,2\n3",
]  # fmt: skip
# Instants: in the year 999, before 1970, the epoch, a second before an hour, today, far ahead.
INSTANTS = [
    -30_610_224_001, -86_401, -1, 0, 3599, 3600, 1_764_777_599, 1_764_777_600, 253_402_200_000,
]  # fmt: skip


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policies(ROOT / "policies").policies[0]


def _clock(name: str, i: int, state: str, reason: str | None) -> ClockResult:
    at = INSTANTS[i % len(INSTANTS)]
    return ClockResult(
        metric=name,
        instance=i,
        state=state,
        start=at,
        due=None if i % 3 == 0 else INSTANTS[(i + 1) % len(INSTANTS)],
        stop=None if i % 2 == 0 else INSTANTS[(i + 2) % len(INSTANTS)],
        stop_reason=reason,
        elapsed=i * 977,
        paused=i * 13,
        target=3600 - i * 5000,  # remaining below zero, too
        priority=name,
        calendar=name,
        pauses=((at, at + 60), (at + 120, None)) if i % 2 else (),
        agent=None if i % 4 == 0 else name,
        alerts=(Alert("warning", 1, None), Alert(name, 2, at, (name, "x"))) if i % 3 else (),
        agreement=None if i % 5 == 0 else name,
        group=None if i % 2 == 0 else name,
        misses=None if i % 3 == 0 else i,
    )


def _results(policy: Policy, names: list[str]) -> list[TicketResult]:
    # Each name in every text field of a ticket and its clocks, with every state and stop
    # reason, and an unmatched ticket without clocks.
    states = [str(s) for s in ClockState] + list(ClockState)
    reasons: list[str | None] = [None, *StopReason, *(str(r) for r in StopReason)]
    results = []
    for i, name in enumerate(names):
        clocks = tuple(
            _clock(name, i + j, states[(i + j) % len(states)], reasons[(i + j) % len(reasons)])
            for j in range(4)
        )
        state = TicketState(name, INSTANTS[i % len(INSTANTS)], name, name, name)
        matched = dataclasses.replace(policy, name=name)
        results.append(TicketResult(name, state, matched, clocks))
        results.append(TicketResult(name, state, None, ()))
    return results


def _writer_text(result: TicketResult) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(ticket_rows(result))
    return buffer.getvalue()


def _assert_same(results: list[TicketResult]) -> None:
    render = csv_renderer()
    for result in results:
        plain = json.dumps(ticket_to_dict(result), ensure_ascii=False)
        assert ticket_json(result) == plain
        assert ticket_json_line(result) == plain + "\n"
        assert render(result) == _writer_text(result)


def test_odd_names_in_every_field(policy):
    results = _results(policy, ODD)
    _assert_same(results)
    # The cases are there: every state, every stop reason, open ends, nulls.
    clocks = [clock for result in results for clock in result.clocks]
    assert {str(clock.state) for clock in clocks} == {str(s) for s in ClockState}
    assert {clock.stop_reason for clock in clocks} >= {None, *StopReason}
    assert any(b is None for clock in clocks for _, b in clock.pauses)
    assert any(a.at is None for clock in clocks for a in clock.alerts)
    for name in ("due", "stop", "agent", "agreement", "group", "misses"):
        values = [getattr(clock, name) for clock in clocks]
        assert None in values, name
        assert any(v is not None for v in values), name


def test_names_needing_quotes_on_the_direct_path(policy):
    # A plain ticket id keeps the ticket on the direct path; the names in its other columns
    # come from the cache as the writer quotes them, in every column.
    render = csv_renderer()
    for name in ('q"uote', "a,b", "two\nlines"):
        (matched, unmatched) = _results(policy, [name])
        for result in (dataclasses.replace(matched, ticket="T-1"), unmatched):
            text = render(result)
            assert text == _writer_text(result)
        quoted = '"' + name.replace('"', '""') + '"'
        assert text.count(quoted) == 4  # the unmatched ticket: its id and three names
        assert name not in text.replace(quoted, "")


def test_names_changing_from_clock_to_clock(policy):
    # The writer keeps the last clock's priority, calendar and agent text: clocks whose
    # names change back and forth, an agent that comes and goes, an equal name in another
    # string object, and a state and stop reason of no known kind.
    (first, _) = _results(policy, ["x"])
    other = "".join(["norm", "al"])  # equal to "normal", not the same object
    names = ["normal", "high", other, "normal", 'q"uote', "Zoë"]
    clocks = tuple(
        dataclasses.replace(
            first.clocks[i % len(first.clocks)],
            priority=name,
            calendar=names[-1 - i],
            agent=None if i % 3 == 1 else name,
        )
        for i, name in enumerate(names)
    )
    odd = dataclasses.replace(clocks[0], state="frozen", stop_reason="lost")
    result = dataclasses.replace(first, clocks=(*clocks, odd))
    _assert_same([result])
    text = ticket_json(result)
    assert text.count('"priority": "high"') == 1
    assert '"state": "frozen"' in text
    assert '"stop_reason": "lost"' in text


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.text(st.characters(exclude_categories=()), max_size=6), max_size=4),
    at=st.integers(min_value=-62_135_596_800, max_value=253_402_300_799),
)
def test_any_text_and_instant(policy, names, at):
    results = _results(policy, names or ["x"])
    first = results[0]
    moved = dataclasses.replace(first.clocks[0], start=at, due=at, stop=at, pauses=((at, at),))
    results.append(dataclasses.replace(first, clocks=(moved,)))
    _assert_same(results)


def test_caches_start_again_when_full(policy):
    # Fill the name caches to their bound and read hours that share slots: the text stays
    # right, the caches bounded.
    bound = json_report._MAX_CACHED
    slots = json_report._HOUR_SLOTS
    for i in range(bound + 10):
        assert json_report._QUOTED[f"n{i}"] == f'"n{i}"'
        assert csv_report._CELLS[f"a,{i}"] == f'"a,{i}"'
    for i in (0, 1, slots - 1, slots, slots + 1, -1, -slots, 2_000_000, -2_000_000):
        assert json_report._HOURS[i] == '"' + format_utc(i * 3600)[:-6]
        assert csv_report._HOURS[-i] == format_utc(-i * 3600)[:-6]
    for cache in (json_report._QUOTED, csv_report._CELLS):
        assert 0 < len(cache) <= bound
    _assert_same(_results(policy, ODD))


def test_bounded_cache_makes_each_key_once_until_full():
    made: list[int] = []

    def make(key: int) -> str:
        made.append(key)
        return f"<{key}>"

    cache = json_report.BoundedCache(make)
    assert [cache[k] for k in (1, 2, 1, None, 2)] == ["<1>", "<2>", "<1>", "<None>", "<2>"]
    assert made == [1, 2, None]
    full = json_report.BoundedCache(str)
    bound = json_report._MAX_CACHED
    assert [full[k] for k in range(bound)] == [str(k) for k in range(bound)]
    assert len(full) == bound
    assert full[bound] == str(bound)
    assert dict(full) == {bound: str(bound)}  # full at the last key: started again with it


def test_hour_texts_keep_one_hour_a_slot():
    # A fresh cache: no hour finds the starting contents; an hour is made once while it
    # keeps its slot, again after an hour of the same slot took it.
    made: list[int] = []

    def make(hour: int) -> str:
        made.append(hour)
        return f"h{hour}"

    slots = json_report._HOUR_SLOTS
    hours = json_report.HourTexts(make)
    every = [0, 1, 2, slots - 1, slots + 3, -2, 2**70 + 4]  # slots 0 to 4, -1 and -2
    assert [hours[h] for h in every] == [f"h{h}" for h in every]
    assert [hours[h] for h in reversed(every)] == [f"h{h}" for h in reversed(every)]
    assert made == every  # each made once
    assert hours[3 * slots + 2] == f"h{3 * slots + 2}"  # takes slot 2
    assert hours[2] == "h2"
    assert made == [*every, 3 * slots + 2, 2]


@pytest.mark.parametrize(
    "offset", [dt.timedelta(hours=5, minutes=45), dt.timedelta(hours=-3, minutes=-30)]
)
def test_evaluated_events_with_offsets_of_minutes(offset):
    # Generated tickets whose events carry offsets that are not whole hours, evaluated by
    # the shipped and the benchmark policies: the same text both ways, every usual state.
    zone = dt.timezone(offset)
    start = dt.datetime(2025, 9, 1, 7, 13, tzinfo=zone)
    lines = []
    for line in generate_lines(400, 11, start, 40):
        event = json.loads(line)
        at = dt.datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        event["at"] = at.astimezone(zone).isoformat()
        lines.append(json.dumps(event))
    assert lines[0].count(':45"' if offset.seconds % 3600 == 2700 else ':30"') == 1
    now = int((start + dt.timedelta(days=40)).timestamp())
    clocks = []
    for where in (ROOT / "policies", ROOT / "benchmarks" / "policies" / "bench.yaml"):
        policies = load_policies(where)
        events = list(parse_lines(lines, "<gen>", policies.status_map))
        for segments in (False, True):
            results = evaluate(policies, build_timelines(events, "<gen>"), now, segments=segments)
            _assert_same(results)
            clocks += [clock for result in results for clock in result.clocks]
    assert {str(clock.state) for clock in clocks} >= {"active", "paused", "achieved", "breached"}
    assert any(clock.due is None for clock in clocks)
    assert any(clock.stop is None for clock in clocks)
