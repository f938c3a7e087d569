"""A record batch's columns into events, in row order, in one loop.

:func:`~slaengine.inputs.arrow_events.arrow_events` decides in Arrow which rows
are canonical events and what each distinct word of a text column makes (a
shared string, a vocabulary's word, a read-only map); :func:`column_events`
makes the events of those rows, each type's fields as the per-row path sets
them, the others left unset. A text column comes as :class:`Coded`: each row's
code into its values, four bytes a row, so no Python object is made per row and
column, and a row looks up only the columns its type sets. Compiled with mypyc
(:data:`slaengine.compiled.MODULES`), each event is a direct call of the native
class, without the argument parsing of a call from the interpreter. No pyarrow
here: bytes and lists in, events out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from slaengine.timeline import Event

#: The kinds of row :func:`column_events` takes, by their place here.
KINDS: Final = ("created", "update", "status", "message", "csat")
_CREATED: Final = 0
_UPDATE: Final = 1
_STATUS: Final = 2
_MESSAGE: Final = 3
_CSAT: Final = 4


class Coded:
    """A column of a batch as codes into its values: row ``n``'s value is
    ``values[code]``, its code the little-endian 32-bit number at bytes ``4n`` to
    ``4n + 3`` of ``codes``."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: bytes, values: list[Any]) -> None:
        self.codes = codes
        self.values = values

    def at(self, row: int) -> Any:
        """Row ``row``'s value."""
        codes = self.codes
        place = 4 * row
        code = codes[place] | codes[place + 1] << 8 | codes[place + 2] << 16
        return self.values[code | codes[place + 3] << 24]


def column_events(
    taken: bytes,
    kinds: Coded,
    first: int,
    numbers: list[int] | None,
    tickets: Coded,
    ats: list[int],
    ids: list[str | None],
    channels: Coded,
    priorities: Coded,
    statuses: Coded,
    customers: Coded,
    groups: Coded,
    assignees: Coded,
    tags: list[tuple[str, ...] | None],
    fields: Coded,
    authors: Coded,
    publics: list[bool],
    agents: Coded,
    scores: list[float],
) -> list[Event]:
    """The events of the rows ``taken`` (a byte a row, not 0 where taken), in row order.

    ``kinds`` gives a row's place in :data:`KINDS`; a row reads only the fields its
    type sets (the others may hold anything there), ``scores`` one value per ``csat``
    row taken, in order, the other lists one per row. A row's line number (its
    ``seq`` and ``line``) is ``numbers[row]``, or ``first + row`` when ``numbers``
    is ``None``. A created event without a status is ``new``.
    """
    made: list[Event] = []
    scored = 0
    for row in range(len(taken)):
        if not taken[row]:
            continue
        kind: int = kinds.at(row)
        number = first + row if numbers is None else numbers[row]
        ticket: str = tickets.at(row)
        at = ats[row]
        key = ids[row]
        if kind == _MESSAGE:
            event = Event(
                ticket, at, "message", number, number, key, None, None, None, None, None, None,
                None, None, authors.at(row), publics[row], agents.at(row), None,
            )  # fmt: skip
        elif kind == _STATUS:
            event = Event(
                ticket, at, "status", number, number, key, None, None, statuses.at(row), None,
                None, None, None, None, None, True, None, None,
            )  # fmt: skip
        elif kind == _CREATED:
            status: str | None = statuses.at(row)
            found: Mapping[str, Any] | None = fields.at(row)
            event = Event(
                ticket, at, "created", number, number, key, channels.at(row),
                priorities.at(row), "new" if status is None else status, customers.at(row),
                groups.at(row), assignees.at(row), tags[row], found, authors.at(row), True,
                None, None,
            )  # fmt: skip
        elif kind == _UPDATE:
            found = fields.at(row)
            event = Event(
                ticket, at, "update", number, number, key, channels.at(row), priorities.at(row),
                None, customers.at(row), groups.at(row), assignees.at(row), tags[row], found,
                None, True, None, None,
            )  # fmt: skip
        elif kind == _CSAT:
            event = Event(
                ticket, at, "csat", number, number, key, None, None, None, None, None, None, None,
                None, None, True, None, scores[scored],
            )  # fmt: skip
            scored += 1
        else:  # no event type: arrow_events never takes such a row
            continue
        made.append(event)
    return made


__all__ = ["KINDS", "Coded", "column_events"]
