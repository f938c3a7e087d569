"""Guess which importer a file is for, to turn "wrong kind" errors into a hint.

A guess only: it reads a CSV's header or the first bytes of a JSON file and
looks for names each format always has. Importers never rely on it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final

from slaengine.errors import UserError
from slaengine.inputs.files import open_text

# Column sets that identify a CSV format (all must be present).
_CSV_FORMATS: Final = (
    ("servicenow", {"number", "incident_state", "sys_updated_at", "opened_at"}),
    ("volvo", {"SR Number", "Change Date+Time", "Sub Status"}),
    ("twitter", {"tweet_id", "inbound", "in_response_to_tweet_id"}),
    ("csv", {"ticket", "at"}),
)
# Keys that identify a JSON format (any one is enough), tried in order.
_JSON_FORMATS: Final = (
    ("twitter", ('"dialogHeader"',)),
    ("zendesk", ('"audits"', '"ticket_events"', '"via"')),
    ("freshdesk", ('"responder_id"', '"incoming"', '"default_question"')),
)
_HEAD: Final = 1 << 16


def guess_kind(path: Path) -> str | None:
    """The importer kind ``path`` (or the first export file in a directory) looks like."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        path = next((p for p in files if guess_kind(p) is not None), path)
        if path.is_dir():
            return None
    name = path.name.lower().removesuffix(".gz")
    try:
        with open_text(path, newline="") as stream:
            head = stream.read(_HEAD)
    except (OSError, ValueError, UserError):  # unreadable or damaged: no guess
        return None
    if name.endswith(".csv"):
        header = next(csv.reader(head.splitlines()[:1]), [])
        columns = {column.strip().lstrip("\ufeff") for column in header}
        return next((kind for kind, needed in _CSV_FORMATS if needed <= columns), None)
    if name.endswith((".json", ".jsonl")):
        return next((kind for kind, keys in _JSON_FORMATS if any(k in head for k in keys)), None)
    return None


__all__ = ["guess_kind"]
