"""Evaluation results as CSV: one row per clock instance, one row per unmatched ticket.

``agreement`` is empty for the customer SLA's clocks, ``group`` for clocks not counted
per group."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from slaengine.engine import TicketResult
from slaengine.report.json import clock_to_dict, ticket_to_dict

TICKET_COLUMNS = ("ticket", "policy", "channel", "priority", "status")
CLOCK_COLUMNS = (
    "metric", "instance", "state", "start", "due", "stop", "stop_reason", "elapsed_seconds",
    "target_seconds", "remaining_seconds", "paused_seconds", "calendar", "agent",
    "agreement", "group",
)  # fmt: skip
COLUMNS = TICKET_COLUMNS + CLOCK_COLUMNS


def csv_lines(results: Iterable[TicketResult]) -> Iterator[str]:
    """CSV text with a header row; instants in UTC ending in ``Z``, empty for none."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, extrasaction="ignore", lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writeheader()
    yield flush()
    for result in results:
        ticket = {
            key: value for key, value in ticket_to_dict(result).items() if key in TICKET_COLUMNS
        }
        if not result.clocks:
            writer.writerow(ticket)
        for clock in result.clocks:
            writer.writerow({**ticket, **clock_to_dict(clock)})
        yield flush()


__all__ = ["COLUMNS", "csv_lines"]
