"""Calendar maps: a ticket's calendar and time zone chosen from its group, customer or a field.

A map is resolved once per ticket and policy (:meth:`slaengine.policy.model.Policy.for_ticket`);
the calendars themselves are the compiled ones of the policy set, shared by every ticket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from slaengine.calendar import BusinessCalendar
from slaengine.timeline import Event, TicketState

GROUP: Final = "group"
CUSTOMER: Final = "customer"
FIELD: Final = "field"
SOURCES: Final = (GROUP, CUSTOMER, FIELD)

# Which value of the source picks the calendar (``value``).
FIRST: Final = "first"  # the first value the ticket had (at creation, or first set later)
CURRENT: Final = "current"  # the value at the evaluation instant
VALUES: Final = (FIRST, CURRENT)


def key_text(value: object) -> str | None:
    """The map key a ticket value is looked up by: text, ``true``/``false``; ``None`` if empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class CalendarMap:
    """A named map from a ticket value to a calendar, with a default.

    ``source`` is ``group``, ``customer`` or ``field`` (then ``field`` names the
    custom field). ``entries`` maps each value (as text) to its calendar;
    ``where`` says where each entry was written (``file:line:col``), for explain.
    """

    name: str
    source: str
    entries: Mapping[str, BusinessCalendar]
    default: BusinessCalendar
    field: str | None = None
    value: str = FIRST
    where: Mapping[str, str] | None = None
    location: str = ""  # where the map itself was written

    @property
    def source_text(self) -> str:
        """The source as people read it: ``group``, ``field 'region'``."""
        return f"field '{self.field}'" if self.source == FIELD else self.source

    def value_of(self, events: Sequence[Event], state: TicketState) -> Any:
        """The ticket's value of the source under this map's rule (``None`` when it has none).

        ``first``: the value at creation or, when empty then, the first one an update
        set; ``current``: the value in ``state``. Usually read off the first event.
        """
        if self.value == CURRENT:
            if self.source == FIELD:
                assert self.field is not None
                return state.fields.get(self.field)
            return getattr(state, self.source)
        for event in events:
            if event.type not in ("created", "update"):
                continue
            if self.source == FIELD:
                fields = event.fields
                found = fields.get(self.field) if fields is not None and self.field else None
            else:
                found = getattr(event, self.source)
            if key_text(found) is not None:
                return found
        return None

    def choose(self, events: Sequence[Event], state: TicketState) -> str | None:
        """The entry key that applies to the ticket, or ``None`` for the default."""
        key = key_text(self.value_of(events, state))
        return key if key is not None and key in self.entries else None

    def calendar_for(self, key: str | None) -> BusinessCalendar:
        """The calendar of entry ``key`` (``None``: the default)."""
        return self.default if key is None else self.entries[key]

    def calendars(self) -> tuple[BusinessCalendar, ...]:
        """Every calendar the map can choose, default first, each once."""
        seen: dict[str, BusinessCalendar] = {self.default.name: self.default}
        for calendar in self.entries.values():
            seen.setdefault(calendar.name, calendar)
        return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class CalendarChoice:
    """Which entry of a calendar map chose a clock's calendar (``key`` ``None``: the default)."""

    map: CalendarMap
    key: str | None

    @property
    def calendar(self) -> BusinessCalendar:
        """The calendar chosen."""
        return self.map.calendar_for(self.key)

    def describe(self, value: object = None) -> str:
        """Why this calendar, for people; ``value`` is the ticket's value when the default
        applied (to say it was missing or not in the map)."""
        cal_map = self.map
        rule = "first value" if cal_map.value == FIRST else "current value"
        head = f"calendar map '{cal_map.name}'"
        if self.key is not None:
            where = (cal_map.where or {}).get(self.key)
            at = f" ({where})" if where else ""
            chosen = f"'{self.key}' ({rule}) -> '{self.calendar.name}'"
            return f"{head}: {cal_map.source_text} = {chosen}{at}"
        text = key_text(value)
        why = (
            f"{cal_map.source_text} is not set"
            if text is None
            else f"{cal_map.source_text} = '{text}' ({rule}) is not in the map"
        )
        return f"{head}: {why}; default '{cal_map.default.name}'"


__all__ = [
    "CURRENT",
    "CUSTOMER",
    "FIELD",
    "FIRST",
    "GROUP",
    "SOURCES",
    "VALUES",
    "CalendarChoice",
    "CalendarMap",
    "key_text",
]
