"""One part of a streaming evaluate: each ticket evaluated, selected and rendered in turn.

The loop :mod:`slaengine.stream` runs over every ticket of a part, compiled with
mypyc (:data:`slaengine.compiled.MODULES`): each ticket's result is rendered
and dropped as soon as the engine makes it, while its objects are still in the
processor's caches, and the rendered text goes to the part's spool file a batch
at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import BinaryIO, Final

from slaengine.engine import TicketResult, evaluate_timeline
from slaengine.policy.model import PolicySet
from slaengine.timeline import Timeline, TimelineSet, first_line

#: Unmatched ticket ids kept for a summary.
UNMATCHED_SHOWN: Final = 10
# Spool files hold UTF-8; any text a result holds survives the trip.
SPOOL_ERRORS: Final = "surrogatepass"
# Tickets rendered and written to a part's spool file at a time.
_BATCH: Final = 32


def in_key_order(timelines: TimelineSet) -> list[tuple[int, Timeline]]:
    """Each timeline with its key (its first kept line), in key order.

    Timelines come in the order of their tickets' first lines, which is key order
    but for a ticket whose first lines were left out (events before its
    ``created``): then they are sorted, so that a part's output, ``--limit`` and
    the unmatched tickets shown follow the documented order. Keys are distinct
    (a line is one event of one ticket).
    """
    keyed = [(first_line(timeline), timeline) for timeline in timelines.timelines.values()]
    for i in range(1, len(keyed)):
        if keyed[i][0] <= keyed[i - 1][0]:
            keyed.sort(key=_key)
            break
    return keyed


def _key(pair: tuple[int, Timeline]) -> int:
    return pair[0]


class PartCounts:
    """What :func:`spool_part` counted: every ticket evaluated, those with a clock in the
    states asked for, those written (or kept), the unmatched ones, and the keys of the
    first and last ticket written."""

    def __init__(self) -> None:
        self.tickets = 0
        self.matching = 0
        self.written = 0
        self.unmatched = 0
        self.first = 0
        self.last = 0


def spool_part(
    policies: PolicySet,
    timelines: TimelineSet,
    now: int,
    *,
    segments: bool,
    states: tuple[str, ...],
    limit: int | None,
    render: Callable[[TicketResult], str] | None,
    out: BinaryIO | None,
    unmatched_ids: list[tuple[int, str]],
    kept: list[tuple[int, TicketResult]],
) -> tuple[PartCounts, array[int]]:
    """Evaluate every ticket of ``timelines`` at ``now``; render the first ``limit`` with a
    clock in ``states`` (all without) into ``out``, or keep them in ``kept`` (``render``
    None), each with its key.

    The first unmatched tickets' (key, id) go to ``unmatched_ids``. Returns the
    counts and the index of what was written: a (key, UTF-8 bytes) pair a ticket,
    in key order (:func:`in_key_order`), which the merge of unsorted parts relies on.
    """
    counts = PartCounts()
    index = array("q")
    texts: list[str] = []
    keys: list[int] = []
    tickets = matching = written = unmatched = last = 0
    for key, timeline in in_key_order(timelines):
        result = evaluate_timeline(policies, timeline, now, segments=segments)
        if result is None:
            continue  # created after now
        tickets += 1
        if result.policy is None:
            unmatched += 1
            if len(unmatched_ids) < UNMATCHED_SHOWN:
                unmatched_ids.append((key, result.ticket))
        if states and not any(clock.state in states for clock in result.clocks):
            continue
        matching += 1
        if limit is not None and written >= limit:
            continue
        last = key
        written += 1
        if written == 1:
            counts.first = key
        if render is None:
            kept.append((key, result))
            continue
        texts.append(render(result))
        keys.append(key)
        if len(texts) == _BATCH:
            _write(texts, keys, out, index)
            texts = []
            keys = []
    if texts:
        _write(texts, keys, out, index)
    counts.tickets, counts.matching, counts.unmatched = tickets, matching, unmatched
    counts.written, counts.last = written, last
    return counts, index


def _write(texts: list[str], keys: list[int], out: BinaryIO | None, index: array[int]) -> None:
    # One encode and one write for the batch; each ticket's (key, size) into the index.
    if out is None:
        raise ValueError("spool_part: rendering needs a file to write to")
    text = "".join(texts)
    data = text.encode("utf-8", SPOOL_ERRORS)
    out.write(data)
    # As many bytes as characters: all ASCII, so each text's length is its size.
    ascii_only = len(data) == len(text)
    pairs: list[int] = []
    for key, piece in zip(keys, texts, strict=True):
        pairs.append(key)
        pairs.append(len(piece) if ascii_only else len(piece.encode("utf-8", SPOOL_ERRORS)))
    index.extend(pairs)


__all__ = ["SPOOL_ERRORS", "UNMATCHED_SHOWN", "PartCounts", "spool_part"]
