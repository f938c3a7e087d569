"""What the streaming evaluate's tests share: the reference output, the whole file at once.

The streamed output must be what reading, evaluating and writing the whole file at
once gives, byte for byte; these write that reference with the standard library's
encoders.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from slaengine.engine import TicketResult, evaluate
from slaengine.event_parsing import parse_instant
from slaengine.inputs import read_events
from slaengine.policy import PolicySet
from slaengine.report.csv import COLUMNS, TICKET_COLUMNS
from slaengine.report.json import clock_to_dict, ticket_to_dict


def reference_results(policies: PolicySet, events: Path | str, at: str) -> list[TicketResult]:
    """Every ticket's result, in the order the whole-file evaluation gives them."""
    return evaluate(policies, read_events(events, policies.status_map), parse_instant(at))


def reference_json(results: Sequence[TicketResult]) -> str:
    """JSON Lines of ``results`` written by ``json.dumps``."""
    return "".join(json.dumps(ticket_to_dict(r), ensure_ascii=False) + "\n" for r in results)


def reference_csv(results: Sequence[TicketResult]) -> str:
    """CSV of ``results`` written by ``csv.DictWriter``: a row a clock (a ticket without
    clocks, one row)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for result in results:
        ticket = {k: v for k, v in ticket_to_dict(result).items() if k in TICKET_COLUMNS}
        if not result.clocks:
            writer.writerow(ticket)
        for clock in result.clocks:
            writer.writerow({**ticket, **clock_to_dict(clock)})
    return buffer.getvalue()


def write_regrouped(grouped: Path) -> Path:
    """``grouped``'s lines, then the same tickets renamed (more lines than the check of a
    file's start reads), then the first ticket's events again, beside it: a grouped-looking
    file that is spilled midway."""
    lines = grouped.read_text(encoding="utf-8").splitlines(keepends=True)
    renamed = [line.replace('"T-', '"U-') for line in lines]
    first = json.loads(lines[0])["ticket"]
    again = [line for line in lines if json.loads(line)["ticket"] == first]
    path = grouped.with_name("regrouped.jsonl")
    path.write_text("".join(lines + renamed + again), encoding="utf-8")
    assert len(lines + renamed) > 20_000
    return path
