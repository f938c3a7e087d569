"""Where a spill sends each ticket: ranges of ticket ids drawn from a sample of the input.

A hash of the ticket spreads every stretch of time over every partition, so
each partition of a shuffled input is audited against every week of the
period: more groups, colder in memory, larger parts to send and merge. Ticket
ids are mostly issued in sequence, so ranges of ids keep tickets of one
stretch of time together instead. The ranges are cut at quantiles of the
ticket ids of a sample of the file's lines (small windows read at evenly
spaced offsets), so partitions hold about as many lines each whatever the
ids look like; ids with no order in time are spread as by a hash.

The sample depends on the file alone, never on the number of workers: the
partitions, and so the order of rows that keep partition order, are the same
whatever ``--jobs`` or cluster runs them. A Parquet file is sampled from the
first rows of its row groups. Input that cannot be sampled by seeking (gzip,
standard input, CSV) is routed by the hash.
"""

from __future__ import annotations

import os
import re
from typing import Final

from slaengine.inputs.files import is_gzip, is_parquet, is_stream, is_table
from slaengine.inputs.parquet import ticket_sample
from slaengine.inputs.tickets import TicketRoutes

#: Windows read for the sample, at evenly spaced offsets of the file.
SAMPLE_WINDOWS: Final = 256
#: Bytes of each window (a few dozen lines).
SAMPLE_WINDOW_BYTES: Final = 1 << 14
# The ticket id of a plain line, as the spill's byte search reads it (a sample need not be
# exact: it decides where ranges are cut, not which partition a line's ticket goes to).
_TICKET: Final = re.compile(rb'"ticket"\s*:\s*"([^"\\\n]*)"')


def ticket_routes(path: str | os.PathLike[str], partitions: int) -> TicketRoutes:
    """Routes for spilling the JSON Lines or Parquet file at ``path`` into ``partitions``:
    ranges of ticket ids cut at the quantiles of a sample of its lines (of its rows,
    :func:`~slaengine.inputs.parquet.ticket_sample`) when it can be read by seeking,
    else (or when the sample finds no ticket) a hash."""
    if partitions < 2 or is_stream(path):
        return TicketRoutes(partitions)
    if is_parquet(path):
        return TicketRoutes(partitions, range_bounds(sorted(ticket_sample(path)), partitions))
    try:
        if is_table(path) or is_gzip(path):
            return TicketRoutes(partitions)
        keys = sorted(_sample_tickets(path))
    except OSError:
        return TicketRoutes(partitions)  # the spill's own read reports it
    return TicketRoutes(partitions, range_bounds(keys, partitions))


def range_bounds(keys: list[bytes], partitions: int) -> tuple[bytes, ...]:
    """At most ``partitions - 1`` distinct cuts at the quantiles of sorted ``keys`` (one key
    a sampled line, so a ticket with many lines weighs as much as its lines)."""
    if not keys:
        return ()
    cuts = {keys[len(keys) * i // partitions] for i in range(1, partitions)}
    cuts.discard(keys[0])  # nothing below the first cut would be sampled: a waste
    return tuple(sorted(cuts))


def _sample_tickets(path: str | os.PathLike[str]) -> list[bytes]:
    # The ticket ids of the whole lines in windows at evenly spaced offsets (the whole
    # file when it is about as small as the windows together).
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        if size <= SAMPLE_WINDOWS * SAMPLE_WINDOW_BYTES:
            return _TICKET.findall(stream.read())
        keys: list[bytes] = []
        step = size // SAMPLE_WINDOWS
        for k in range(SAMPLE_WINDOWS):
            stream.seek(k * step)
            window = stream.read(SAMPLE_WINDOW_BYTES)
            first = 0 if k == 0 else window.find(b"\n") + 1
            last = window.rfind(b"\n")
            if 0 < first <= last or (k == 0 and last != -1):
                keys.extend(_TICKET.findall(window, first, last))
        return keys


__all__ = ["SAMPLE_WINDOWS", "SAMPLE_WINDOW_BYTES", "range_bounds", "ticket_routes"]
