"""Streaming evaluate of unsorted input: the spill's partitions merged back into the output order.

The documented order (docs/evaluate.md) is each ticket's first kept line. The
reference here is the whole file evaluated at once, its results sorted by that
line; the streamed output must be it byte for byte, whatever ``--jobs`` and
``--limit``, also for tickets spread over the whole file, tickets whose first
lines are left out, duplicates and bad lines.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path

import pytest

from slaengine.cli import main
from slaengine.engine import TicketResult, evaluate
from slaengine.event_parsing import parse_instant
from slaengine.inputs import read_events
from slaengine.inputs.synthetic import write_jsonl
from slaengine.policy import PolicySet, load_policies
from slaengine.report.json import ticket_to_dict
from slaengine.stream import StreamOptions, evaluate_stream

ROOT = Path(__file__).resolve().parents[1]
POLICIES = str(ROOT / "policies")
START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
AT = "2025-10-01T00:00:00Z"


def _line(ticket: str, at: str, kind: str, event_id: str, **extra: object) -> str:
    event = {"id": event_id, "ticket": ticket, "at": at, "type": kind, **extra}
    if kind == "created":
        event.update(channel="email", priority="high")
    return json.dumps(event) + "\n"


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICIES)


@pytest.fixture(scope="module")
def unsorted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 synthetic tickets in random line order, with:

    - ``Z-late``, whose first line (a message before its creation) is left out and whose
      created line is the file's last: its output place is the end, not the start;
    - ``Z-spread``, created on the second line, its other events across the whole file
      and its last on the last line but one;
    - a line repeated far from its first copy (a duplicate), bad JSON, a line without a ticket.
    """
    folder = tmp_path_factory.mktemp("merge")
    generated = folder / "generated.jsonl"
    write_jsonl(generated, 400, 11, START, 30)
    lines = generated.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    step = len(lines) // 6
    for k, at in enumerate(
        ("2025-09-03T10:00:00Z", "2025-09-04T10:00:00Z", "2025-09-05T10:00:00Z")
    ):
        lines.insert(step * (k + 1), _line("Z-spread", at, "message", f"s{k}", author="agent"))
    lines.insert(step * 3, lines[5])  # a duplicate of an early line
    lines.insert(step * 2, "{not json\n")
    lines.insert(step * 4, '{"type": "created", "at": "2025-09-02T00:00:00Z"}\n')
    lines.insert(0, _line("Z-late", "2025-09-01T00:00:00Z", "message", "l0", author="agent"))
    lines.insert(1, _line("Z-spread", "2025-09-02T08:00:00Z", "created", "s-created"))
    lines.append(_line("Z-spread", "2025-09-06T10:00:00Z", "status", "s9", status="solved"))
    lines.append(_line("Z-late", "2025-09-02T00:00:00Z", "created", "l1"))
    path = folder / "unsorted.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _expected(policies: PolicySet, events: Path) -> list[TicketResult]:
    """The whole file's results in the order of each ticket's first kept line."""
    timelines = read_events(events, policies.status_map).timelines
    first = {ticket: min(e.line for e in t.events) for ticket, t in timelines.items()}
    results = evaluate(policies, timelines.values(), parse_instant(AT))
    return sorted(results, key=lambda result: first[result.ticket])


def _json(results: list[TicketResult]) -> str:
    return "".join(json.dumps(ticket_to_dict(r), ensure_ascii=False) + "\n" for r in results)


def test_the_file_is_spilled_with_its_late_ticket_last(policies, unsorted):
    expected = [r.ticket for r in _expected(policies, unsorted)]
    # Z-late's first line is left out; its first kept line is the file's last.
    assert expected[-1] == "Z-late"
    assert expected[0] == "Z-spread"
    assert len(expected) > 300


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("limit", [None, 1, 40])
def test_unsorted_output_is_in_first_kept_line_order(capsys, policies, unsorted, jobs, limit):
    expected = _expected(policies, unsorted)
    args = ["evaluate", "-p", POLICIES, "-e", str(unsorted), "--at", AT, "-f", "json", "-j", jobs]
    args += ["--limit", str(limit)] if limit else []
    status, (out, err) = main(args), capsys.readouterr()
    assert status == 1  # the bad lines
    assert "Traceback" not in err
    assert out == _json(expected[:limit])
    assert "1 duplicate event ignored" in err


def test_kept_results_and_unmatched_follow_the_same_order(policies, unsorted):
    expected = _expected(policies, unsorted)
    options = StreamOptions(parse_instant(AT), "results", limit=25)
    summary = evaluate_stream(policies, unsorted, options, io.StringIO())
    assert [r.ticket for r in summary.results] == [r.ticket for r in expected[:25]]
    assert summary.unmatched == sum(r.policy is None for r in expected)
    assert "E412" in {problem.code for problem in summary.problems}  # Z-late's first line


def test_the_library_gives_the_streamed_order(capsys, policies, unsorted):
    """``slaengine.evaluate`` of the whole file lists tickets as the streamed command does,
    also Z-late, whose first line was left out: at its first kept line, the last."""
    timelines = read_events(unsorted, policies.status_map)
    assert list(timelines.timelines)[-1] == "Z-late"
    results = evaluate(policies, timelines, parse_instant(AT))
    assert results[-1].ticket == "Z-late"
    status = main(["evaluate", "-p", POLICIES, "-e", str(unsorted), "--at", AT, "-f", "json"])
    assert status == 1  # the bad lines
    assert capsys.readouterr().out == _json(results)
