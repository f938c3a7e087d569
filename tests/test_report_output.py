"""evaluate's JSON and CSV text is what the standard encoders write, whatever the values hold."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from slaengine.engine import TicketResult, evaluate
from slaengine.event_parsing import parse_instant
from slaengine.inputs import parse_lines
from slaengine.policy import load_policies
from slaengine.report.csv import csv_renderer, ticket_rows
from slaengine.report.json import ticket_json, ticket_to_dict
from slaengine.timeline import build_timelines

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "tickets.jsonl"
AT = "2025-12-03T16:00:00Z"
# Text the CSV writer must quote (a delimiter, a quote, line breaks), text it need not,
# and text outside ASCII, as ticket ids, agents and groups.
ODD = ["a,b", 'say "hi"', "two\nlines", "cr\rhere", "plain", "Zoë 東京", " spaced ", "", "x\x00y"]


def _results(names: list[str]) -> list[TicketResult]:
    # The examples, each ticket once more for every odd name (as its id, agent and group).
    lines = EXAMPLES.read_text(encoding="utf-8").splitlines()
    extra = []
    for i, name in enumerate(names):
        for line in lines:
            event = json.loads(line)
            event["ticket"] = f"{event['ticket']}{name}{i}"
            if event.get("agent"):
                event["agent"] = name or "nobody"
            if event.get("group"):
                event["group"] = name or "nogroup"
            extra.append(json.dumps(event))
    problems: list = []
    events = list(parse_lines(lines + extra, "<odd>", problems=problems))
    assert not problems
    policies = load_policies(ROOT / "policies")
    return evaluate(policies, build_timelines(events, "<odd>"), parse_instant(AT))


@pytest.fixture(scope="module")
def results() -> list[TicketResult]:
    return _results(ODD)


def test_csv_rows_are_the_writers_text(results):
    render = csv_renderer()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    quoted = 0
    for result in results:
        writer.writerows(ticket_rows(result))
        text = render(result)
        assert text == buffer.getvalue()
        quoted += '"' in text
        buffer.seek(0)
        buffer.truncate()
    # Both ways were taken: text written directly, and text the writer had to quote.
    assert 0 < quoted < len(results)


def test_json_lines_are_the_encoders_text(results):
    for result in results:
        assert ticket_json(result) == json.dumps(ticket_to_dict(result), ensure_ascii=False)
