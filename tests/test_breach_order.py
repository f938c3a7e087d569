"""The breaches CSV's order: ticket ids as people read them, then when each clock breached."""

from __future__ import annotations

import csv
import io
import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit_support import ev, run_audit, write_events, write_policies
from slaengine.audit import breach_order
from slaengine.audit.breach_order import BreachPart, merge_parts, natural_key


def test_digit_runs_compare_by_number_and_the_rest_as_text():
    ids = ["T-10", "T-9", "T-09", "T-2b", "T-2a", "A-1", "7", "", "T-" + "9" * 5000, "T-1x"]
    assert sorted(ids, key=lambda t: (natural_key(t), t)) == [
        "",
        "7",
        "A-1",
        "T-1x",
        "T-2a",
        "T-2b",
        "T-09",
        "T-9",
        "T-10",
        "T-" + "9" * 5000,  # more digits than int() reads: still a number's order
    ]


# Digits of other scripts, spelt as escapes: Arabic-Indic 0, 3 and 7, Devanagari 0 and 1,
# full-width 1 and 2.
AR0, AR3, AR7, DEV0, DEV1, FW1, FW2 = (
    "\u0660",
    "\u0663",
    "\u0667",
    "\u0966",
    "\u0967",
    "\uff11",
    "\uff12",
)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        # Arabic-Indic digits are text, as sort tools take them: after the ASCII digit runs
        # (text "T-3" against "T-" then a number), among themselves by code point. As numbers,
        # T-3 went between T-9 and T-10, and T-07 (its zero kept) after T-10.
        (
            [f"T-{AR3}", "T-10", "T-9", f"T-{AR0}{AR7}"],
            ["T-9", "T-10", f"T-{AR0}{AR7}", f"T-{AR3}"],
        ),
        # Devanagari and full-width digits alike; ASCII digits beside them still numbers.
        (
            [f"A{DEV1}0", f"A{DEV1}9", f"A{DEV1}10", f"A{DEV0}"],
            [f"A{DEV0}", f"A{DEV1}0", f"A{DEV1}9", f"A{DEV1}10"],
        ),
        ([f"X-{FW1}{FW2}", "X-2", f"X-{FW1}"], ["X-2", f"X-{FW1}", f"X-{FW1}{FW2}"]),
    ],
)
def test_only_ascii_digits_are_numbers(ids, expected):
    assert sorted(ids, key=lambda t: (natural_key(t), t)) == expected


_ID_TEXT = st.text(
    alphabet=st.sampled_from([*"0123456789ab-_ Z\u00e9\u00b2", AR0, AR3, AR7, DEV0, DEV1, FW1]),
    max_size=12,
)  # superscript 2 is a digit to \d as well


@settings(max_examples=300, deadline=None)
@given(st.lists(_ID_TEXT, min_size=2, max_size=12))
def test_ticket_keys_are_a_total_order(ids):
    # Any ids compare (no TypeError from text meeting a number), equal keys only for equal
    # ids, and the order is the same whatever order the ids come in.
    keys = [breach_order.ticket_key(ticket) for ticket in ids]
    ordered = sorted(keys)
    assert sorted(random.Random(len(ids)).sample(keys, len(keys))) == ordered
    for a, b in itertools.pairwise(ordered):
        assert a <= b
        assert (a == b) == (a[1] == b[1])
    for key in keys:  # the digit runs are ASCII, compared by their number
        for length, digits in key[0][1::2]:
            assert digits.isascii()
            assert digits.isdigit() or digits == ""
            assert length == len(digits)
            assert not digits.startswith("0")


def _row(ticket: str, due: str, metric: str = "first_response", instance: int = 1) -> list[object]:
    return [ticket, "p", "chat", "high", "", "", metric, instance, "s", due, "", 9, 5, -4, "", 1]


def test_parts_merge_into_one_order_whatever_the_split(tmp_path: Path, monkeypatch):
    tickets = {
        f"T-{n}": [
            _row(f"T-{n}", f"2025-12-0{day}T10:00:00Z", metric, instance)
            for day in (2, 1)
            for metric, instance in (
                ("resolution", 1),
                ("first_response", 2),
                ("first_response", 1),
            )
        ]
        for n in range(1, 40)
    }
    expected = [
        row
        for ticket in sorted(tickets, key=lambda t: int(t[2:]))
        for row in sorted(tickets[ticket], key=lambda r: (r[9], r[6], r[7]))
    ]
    assert expected[:3] == [
        _row("T-1", "2025-12-01T10:00:00Z", "first_response", 1),
        _row("T-1", "2025-12-01T10:00:00Z", "first_response", 2),
        _row("T-1", "2025-12-01T10:00:00Z", "resolution", 1),
    ]
    assert expected[6][0] == "T-2"  # after T-1's six rows; T-10 comes after T-9
    order = list(tickets)
    random.Random(3).shuffle(order)
    monkeypatch.setattr(breach_order, "FAN_IN", 3)  # 7 parts: merged in two rounds
    parts = []
    for number in range(7):
        part = BreachPart()
        for ticket in order[number::7]:
            rows = tickets[ticket][:]
            random.Random(number).shuffle(rows)
            part.add(ticket, rows)
        part.add("T-none", [])  # a ticket without a breach has no record
        path = tmp_path / f"part-{number}"
        with path.open("wb") as out:
            part.write(out)
        parts.append(path)
    merged = io.StringIO(newline="")
    merge_parts(parts, merged)
    assert list(csv.reader(io.StringIO(merged.getvalue(), newline=""))) == [
        [str(value) for value in row] for row in expected
    ]


def test_audit_breaches_csv_lists_tickets_by_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    policies = write_policies(tmp_path)
    # Input order T-10, T-9, T-2: each first response overdue at 16:00, T-9's soonest.
    events = write_events(
        tmp_path / "events.jsonl",
        [
            ev("T-10", "09:00", "created", channel="chat", priority="high"),
            ev("T-9", "08:00", "created", channel="chat", priority="high"),
            ev("T-2", "10:00", "created", channel="chat", priority="high"),
        ],
    )
    target = tmp_path / "breaches.csv"
    status, _, _ = run_audit(capsys, policies, events, "--breaches", str(target))
    assert status == 0
    with target.open(encoding="utf-8", newline="") as rows:
        listed = [(row["ticket"], row["metric"]) for row in csv.DictReader(rows)]
    assert listed == [
        ("T-2", "first_response"),
        ("T-9", "first_response"),
        ("T-10", "first_response"),
    ]
