"""The ticket of a raw JSON line, found without parsing it, and the partition it belongs to."""

from __future__ import annotations

import re
import zlib

from slaengine.inputs.jsonl import LineError, decode_line


def partition_of(ticket: str, partitions: int) -> int:
    """The partition of a ticket id: a stable hash, the same in every process and run."""
    # surrogatepass: an id with a lone surrogate (a line to be reported) still has a home.
    return zlib.crc32(ticket.encode("utf-8", errors="surrogatepass")) % partitions


_TICKET = re.compile(r'"ticket"\s*:\s*(?:"([^"\\]*)"|(-?\d+)\s*[,}])')


def ticket_of(line: str) -> str | None:
    """The ticket id of one JSON Lines event, as ``parse_event`` will read it.

    A regular expression finds it without decoding the line; lines where it
    could mislead (an escape in the id, or a nested object before the key)
    are decoded properly. ``None`` when the line has no usable ticket.
    """
    found = _TICKET.search(line)
    if found is not None:
        nested = line.find("{", 1)
        if nested == -1 or nested > found.start():
            return found.group(1) if found.group(1) is not None else found.group(2)
    try:
        obj = decode_line(line)
    except LineError:
        return None  # parse_line reports it
    ticket = obj.get("ticket") if isinstance(obj, dict) else None
    if isinstance(ticket, bool) or not isinstance(ticket, str | int):
        return None
    return str(ticket)


__all__ = ["partition_of", "ticket_of"]
