"""The top-level ``calendar_maps`` of a policy file: read per file, resolved with the calendars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slaengine.calendar import BusinessCalendar
from slaengine.policy.calendar_maps import FIELD, FIRST, SOURCES, VALUES, CalendarMap, key_text
from slaengine.policy.nodes import FileContext
from slaengine.policy.source import YMap, YNode, YScalar
from slaengine.problems import did_you_mean
from slaengine.readonly import ReadOnlyMap

MAP_KEYS = ("by", "map", "default", "value", "description")

#: Looks a calendar name up (E301 when unknown); ``None`` when unknown or broken.
Lookup = Callable[[tuple[str, YNode], FileContext], BusinessCalendar | None]


@dataclass(slots=True)
class DraftMap:
    """A calendar map whose calendar names are resolved after all files are read."""

    ctx: FileContext
    name: str
    key: YNode
    source: str | None = None  # None when invalid (already reported)
    field_name: str | None = None
    value: str = FIRST
    entries: list[tuple[str, str, YNode]] = field(default_factory=list)  # value, calendar, node
    default: tuple[str, YNode] | None = None
    ok: bool = True


def _source(ctx: FileContext, node: YNode, draft: DraftMap) -> None:
    if isinstance(node, YMap):
        if list(node.entries) != [FIELD]:
            ctx.report(
                node, "E219", "'by' as a mapping must be {field: NAME}, like {field: region}"
            )
            draft.ok = False
            return
        name = ctx.text(node.entries[FIELD][1], "the field name")
        if name is None or not name.strip():
            draft.ok = False
            return
        draft.source, draft.field_name = FIELD, name
        return
    text = ctx.text(node, "'by'")
    if text is None:
        draft.ok = False
    elif text not in (s for s in SOURCES if s != FIELD):
        ctx.report(
            node,
            "E219",
            f"unknown calendar map source '{text}'; expected group, customer or "
            f"{{field: NAME}}{did_you_mean(text, SOURCES)}",
        )
        draft.ok = False
    else:
        draft.source = text


def parse_calendar_map(ctx: FileContext, name: str, key: YNode, node: YNode) -> DraftMap:
    """One entry of ``calendar_maps``; every shape problem is reported on ``ctx``."""
    draft = DraftMap(ctx, name, key)
    body = ctx.mapping(node, f"calendar map '{name}'")
    if body is None:
        draft.ok = False
        return draft
    ctx.keys(body, MAP_KEYS, f"calendar map '{name}'")
    where = f"calendar map '{name}'"
    by = ctx.required(body, "by", where)
    if by is None:
        draft.ok = False
    else:
        _source(ctx, by, draft)
    if "value" in body.entries:
        value_node = body.entries["value"][1]
        value = ctx.text(value_node, "'value'")
        if value is not None and value not in VALUES:
            ctx.report(
                value_node,
                "E219",
                f"unknown value rule '{value}' of {where}; expected one of "
                f"{', '.join(VALUES)}{did_you_mean(value, VALUES)}",
            )
            draft.ok = False
        elif value is not None:
            draft.value = value
    default = ctx.required(body, "default", where)
    if default is not None:
        default_name = ctx.text(default, "'default'")
        if default_name is None:
            draft.ok = False
        else:
            draft.default = (default_name, default)
    else:
        draft.ok = False
    entries = ctx.required(body, "map", where)
    table = ctx.mapping(entries, f"'map' of {where}") if entries is not None else None
    if table is None:
        draft.ok = False
        return draft
    if not table.entries:
        ctx.report(table, "E102", f"'map' of {where} is empty; map at least one value")
        draft.ok = False
    for value_text, (entry_key, entry_value) in table.entries.items():
        if isinstance(entry_key, YScalar) and key_text(entry_key.value) is None:
            ctx.report(entry_key, "E219", f"an empty value cannot choose a calendar in {where}")
            draft.ok = False
            continue
        calendar = ctx.text(entry_value, f"the calendar of '{value_text}'")
        if calendar is None:
            draft.ok = False
        else:
            draft.entries.append((_key(entry_key, value_text), calendar, entry_value))
    return draft


def _key(node: YNode, text: str) -> str:
    """The text a map key is compared as: ``true``/``false`` for booleans, else as written."""
    if isinstance(node, YScalar):
        found = key_text(node.value)
        if found is not None and isinstance(node.value, bool | int | float):
            return found
    return text


def resolve_map(draft: DraftMap, lookup: Lookup) -> CalendarMap | None:
    """The map with its calendars, or ``None`` when it or a calendar it names is broken."""
    ctx = draft.ctx
    calendars: dict[str, BusinessCalendar] = {}
    where: dict[str, str] = {}
    ok = draft.ok
    for value, name, node in draft.entries:
        calendar = lookup((name, node), ctx)
        if calendar is None:
            ok = False
            continue
        calendars[value] = calendar
        where[value] = str(ctx.location(node))
    default = lookup(draft.default, ctx) if draft.default is not None else None
    if not ok or default is None or draft.source is None:
        return None
    return CalendarMap(
        draft.name,
        draft.source,
        ReadOnlyMap(calendars),
        default,
        draft.field_name,
        draft.value,
        ReadOnlyMap(where),
        str(ctx.location(draft.key)),
    )


__all__ = ["MAP_KEYS", "DraftMap", "parse_calendar_map", "resolve_map"]
