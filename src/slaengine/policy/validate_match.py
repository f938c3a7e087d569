"""The ``match`` of a policy: which tickets it applies to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from slaengine.policy.match import Condition, Match
from slaengine.policy.nodes import FileContext
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.problems import did_you_mean
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import CHANNELS, PRIORITIES

MATCH_KEYS = (
    "channel",
    "priority",
    "group",
    "assignee",
    "customer",
    "tags",
    "fields",
    "conditions",
    "not",
)
TAG_KEYS = ("any", "all", "none")


def parse_match(ctx: FileContext, node: YNode, where: str) -> Match | None:
    """The match ``node`` describes (``None`` when it has errors, already reported)."""
    if isinstance(node, YScalar) and node.value is None:
        return Match()
    body = ctx.mapping(node, f"'match' of {where}")
    if body is None:
        return None
    ctx.keys(body, MATCH_KEYS, f"'match' of {where}")
    values: dict[str, Any] = {}
    ok = _no_empty_lists(ctx, body)
    for name in ("channel", "priority", "group", "assignee", "customer"):
        if name not in body.entries:
            continue
        items = ctx.text_list(body.entries[name][1], f"'{name}'")
        if name == "priority":
            for value, item in items:
                if value not in PRIORITIES:
                    ok = False
                    ctx.report(
                        item,
                        "E207",
                        f"unknown priority '{value}'; expected one of "
                        f"{', '.join(PRIORITIES)}{did_you_mean(value, PRIORITIES)}",
                    )
        if name == "channel":
            for value, item in items:
                guess = did_you_mean(value.lower(), CHANNELS)
                if value.lower() not in CHANNELS and guess:
                    ctx.report(
                        item,
                        "W201",
                        f"channel '{value}' is not a known channel{guess} "
                        "(custom channels are fine; check the spelling)",
                    )
            items = [(value.lower(), item) for value, item in items]
        values[name] = frozenset(value for value, _ in items)
    if "tags" in body.entries:
        tags_node = body.entries["tags"][1]
        if isinstance(tags_node, YMap):
            ctx.keys(tags_node, TAG_KEYS, "'tags'")
            for key in TAG_KEYS:
                if key in tags_node.entries:
                    found = frozenset(
                        v for v, _ in ctx.text_list(tags_node.entries[key][1], "a tag")
                    )
                    values[f"tags_{key}"] = found
        else:
            values["tags_any"] = frozenset(v for v, _ in ctx.text_list(tags_node, "a tag"))
    if "fields" in body.entries:
        fields_node = ctx.mapping(body.entries["fields"][1], "'fields'")
        if fields_node is not None:
            fields: dict[str, tuple[Any, ...]] = {}
            for field_name, (_key, value_node) in fields_node.entries.items():
                items_nodes = value_node.items if isinstance(value_node, YSeq) else [value_node]
                scalars = [n for n in items_nodes if isinstance(n, YScalar)]
                if len(scalars) != len(items_nodes):
                    ctx.report(
                        value_node,
                        "E103",
                        f"field '{field_name}' must be a value or a list of values",
                    )
                # Events carry dates as strings; compare with what was written.
                fields[field_name] = tuple(
                    n.text if isinstance(n.value, dt.date) else n.value for n in scalars
                )
            values["fields"] = ReadOnlyMap(fields)
    if "conditions" in body.entries:
        custom = _conditions(ctx, body.entries["conditions"][1])
        if custom is None:
            ok = False
        else:
            values["custom"] = custom
    if "not" in body.entries:
        not_node = body.entries["not"][1]
        excluded = parse_match(ctx, not_node, f"'not' of {where}")
        if excluded is None:
            ok = False
        elif excluded.is_catch_all:
            ok = False
            ctx.report(
                not_node,
                "E210",
                "'not' without conditions excludes every ticket; give it conditions or remove it",
            )
        values["exclude"] = excluded
    return Match(**values) if ok else None


def _conditions(ctx: FileContext, node: YNode) -> tuple[tuple[str, Condition], ...] | None:
    """``conditions: [vip-customer, ...]``: custom conditions registered by plugins."""
    known = ctx.conditions or {}
    found: list[tuple[str, Condition]] = []
    ok = True
    for name, item in ctx.text_list(node, "a condition name"):
        condition = known.get(name)
        if condition is None:
            ok = False
            hint = (
                f"; expected one of {', '.join(sorted(known))}{did_you_mean(name, known)}"
                if known
                else "; no plugin registers match conditions (see docs/hooks.md)"
            )
            ctx.report(item, "E307", f"unknown match condition '{name}'{hint}")
        elif all(name != seen for seen, _ in found):
            found.append((name, condition))
    return tuple(found) if ok else None


def _no_empty_lists(ctx: FileContext, body: YMap) -> bool:
    """Report match lists that are empty: they would match no ticket at all."""
    ok = True
    nodes = [(name, value) for name, (_key, value) in body.entries.items() if name != "not"]
    for name in ("tags", "fields"):
        inner = body.entries.get(name)
        if inner is not None and isinstance(inner[1], YMap):
            nodes += [(f"{name}.{k}", v) for k, (_key, v) in inner[1].entries.items()]
    for name, value in nodes:
        if isinstance(value, YSeq) and not value.items:
            ok = False
            ctx.report(
                value,
                "E210",
                f"'{name}: []' matches no ticket; "
                "list at least one value, or remove the key to match any",
            )
    return ok


__all__ = ["parse_match"]
