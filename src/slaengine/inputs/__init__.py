"""Events input: open a file (plain, gzip, standard input), parse it (JSON Lines, CSV, Parquet).

- :mod:`~slaengine.inputs.files`: opening, decompressing, what kind of file it is;
- :mod:`~slaengine.inputs.jsonl`: one JSON line into one event, every bad line a problem;
- :mod:`~slaengine.inputs.tables`: table cells as event values, and CSV;
- :mod:`~slaengine.inputs.parquet`: Parquet files (and Arrow spill files) opened, split, read;
- :mod:`~slaengine.inputs.parquet_rows` and :mod:`~slaengine.inputs.arrow_events`: their
  record batches into events (text columns as word codes: :mod:`~slaengine.inputs.arrow_words`);
- :mod:`~slaengine.inputs.tickets`: the ticket of a raw line, and its partition;
- :mod:`~slaengine.inputs.events`: any of them as JSON Lines text or as timelines;
- :mod:`~slaengine.inputs.synthetic`: deterministic synthetic events for demos and benchmarks.

Running work over partitions of a large input is :mod:`slaengine.batches`.
"""

from __future__ import annotations

from slaengine.inputs.events import events_stream, read_events
from slaengine.inputs.files import open_binary, open_events, open_text, source_name
from slaengine.inputs.jsonl import parse_line, parse_lines

__all__ = [
    "events_stream",
    "open_binary",
    "open_events",
    "open_text",
    "parse_line",
    "parse_lines",
    "read_events",
    "source_name",
]
