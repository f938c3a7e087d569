"""The ticket of a raw JSON line, found without parsing it, and the partition it belongs to."""

from __future__ import annotations

import re
import zlib
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import getitem
from typing import cast

from slaengine.inputs.jsonl import LineError, decode_line


def partition_of(ticket: str, partitions: int) -> int:
    """The partition of a ticket id: a stable hash, the same in every process and run."""
    return zlib.crc32(_ticket_bytes(ticket)) % partitions


def _ticket_bytes(ticket: str) -> bytes:
    # surrogatepass: an id with a lone surrogate (a line to be reported) still has a home.
    return ticket.encode("utf-8", errors="surrogatepass")


# Prefixes a TicketRoutes remembers the partition of, at most (a few MiB).
_PREFIXES = 1 << 16


class _PrefixPartitions(dict[bytes, int]):
    """The partition of every ticket id that starts with a prefix, remembered by prefix.

    Prefixes are the first ``size`` bytes of an id (an id that is shorter is its own
    prefix). When no bound starts with a prefix, every id starting with it lies
    between the same two bounds (a bound that differs from the prefix within it
    is below or above all of them), so one look-up serves them all. Prefixes
    that some bound starts with are marked -1: their ids are looked up one by one.
    """

    def __init__(self, bounds: tuple[bytes, ...]) -> None:
        super().__init__()
        self.bounds = bounds
        # Two bytes short of the shortest bound: ids issued in sequence share a prefix
        # with the hundred ids around them.
        self.size = max(1, min(map(len, bounds)) - 2)
        self.cut = slice(0, self.size)
        self.split = {bound[: self.size] for bound in bounds}

    def __missing__(self, prefix: bytes) -> int:
        split = len(prefix) == self.size and prefix in self.split
        value = -1 if split else bisect_right(self.bounds, prefix)
        self[prefix] = value
        return value

    def of_keys(self, keys: Sequence[bytes]) -> list[int]:
        """The partitions of ``keys``, as :func:`bisect_right` over the bounds gives them."""
        prefixes = cast("Iterator[bytes]", map(getitem, keys, repeat(self.cut)))
        found = list(map(self.__getitem__, prefixes))
        if -1 in found:
            bounds = self.bounds
            for index, value in enumerate(found):
                if value < 0:
                    found[index] = bisect_right(bounds, keys[index])
        return found


@dataclass(frozen=True, slots=True)
class TicketRoutes:
    """Which of ``partitions`` partitions each ticket goes to: by ranges of ticket ids when
    ``bounds`` are given, else by :func:`partition_of`'s hash.

    ``bounds`` are sorted ticket ids as UTF-8 bytes; a ticket goes to the number of
    bounds at or below it, so partition ``i`` holds the ids from ``bounds[i - 1]`` up
    to ``bounds[i]``. Ids that are issued in sequence (and so, mostly, in time order)
    then keep tickets of one stretch of time together, which the audit of a partition
    turns into fewer, warmer groups; any other ids are spread as by a hash, given bounds
    drawn from their own distribution (:func:`slaengine.batches.routes.ticket_routes`).
    """

    partitions: int
    bounds: tuple[bytes, ...] = ()
    # The partitions of id prefixes seen so far (ranges only): a dict look-up an id
    # instead of a binary search over the bounds.
    _prefixes: _PrefixPartitions | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.bounds) >= self.partitions or list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError("bounds: sorted, distinct, fewer than the partitions")
        if self.bounds and self._prefixes is None:
            object.__setattr__(self, "_prefixes", _PrefixPartitions(self.bounds))

    def of(self, ticket: str) -> int:
        """The partition of a ticket id."""
        if not self.bounds:
            return partition_of(ticket, self.partitions)
        return bisect_right(self.bounds, _ticket_bytes(ticket))

    def of_keys(self, keys: Sequence[bytes]) -> list[int]:
        """The partitions of ticket ids given as their UTF-8 bytes, one pass."""
        if not self.bounds:
            partitions = self.partitions
            return [crc % partitions for crc in map(zlib.crc32, keys)]
        prefixes = self._prefixes
        if prefixes is not None and len(prefixes) < _PREFIXES:
            return prefixes.of_keys(keys)
        # Ids with few shared prefixes (random ones): a binary search each.
        return list(map(partial(bisect_right, self.bounds), keys))


# An integer id as its text: not -0, which the parser reads as the integer 0 (ticket "0").
_TICKET = re.compile(r'"ticket"\s*:\s*(?:"([^"\\]*)"|(0|-?[1-9]\d*)\s*[,}])')


def plain_ticket_key(line: str) -> bool:
    """True when ``"ticket"`` is in ``line`` once and no escape can hide or fake a key.

    Then a ``"ticket": "..."`` found in the line is the event's ticket, or the
    line is no valid event (its one ``"ticket"`` is in a nested object). Escapes
    could hide a key (``"\\u0074icket"``, read as a second ``ticket`` key, which
    wins) or fake one (the key ``"\\"ticket"``); a repeated key is read as its
    last value. The bytes of a line are checked alike (see the spill).
    """
    return line.count('"ticket"') == 1 and "\\u" not in line and '\\"' not in line


def ticket_of(line: str) -> str | None:
    """The ticket id of one JSON Lines event, as ``parse_event`` will read it.

    A regular expression finds it without decoding the line when the line
    names ``"ticket"`` once and has no escape that could hide or fake a key
    (:func:`plain_ticket_key`); other lines are decoded. ``None`` when the line
    has no usable ticket. A line the parser rejects may get one all the same
    (its one ``"ticket"`` in a nested object): it is reported wherever it goes.
    """
    found = _TICKET.search(line) if plain_ticket_key(line) else None
    if found is not None:
        return found.group(1) if found.group(1) is not None else found.group(2)
    try:
        obj = decode_line(line)
    except LineError:
        return None  # parse_line reports it
    ticket = obj.get("ticket") if isinstance(obj, dict) else None
    if isinstance(ticket, bool) or not isinstance(ticket, str | int):
        return None
    return str(ticket)


__all__ = ["TicketRoutes", "partition_of", "plain_ticket_key", "ticket_of"]
