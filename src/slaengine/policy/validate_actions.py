"""Validation of write-back ``actions`` on warnings and escalations (docs/policies.md)."""

from __future__ import annotations

from slaengine.actions import ACTION_TYPES, ADD_TAG, ASSIGN, INTERNAL_NOTE, SET_PRIORITY, Action
from slaengine.policy.nodes import FileContext, describe
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.problems import did_you_mean
from slaengine.timeline import PRIORITIES

ASSIGN_KEYS = ("group", "agent")


def actions_of(ctx: FileContext, node: YNode) -> tuple[Action, ...] | None:
    """``actions: [{set_priority: urgent}, {assign: {group: tier2}}, ...]``; None when invalid."""
    items = node.items if isinstance(node, YSeq) else [node]
    actions: list[Action] = []
    ok = True
    for item in items:
        action = _action(ctx, item)
        if action is None:
            ok = False
        else:
            actions.append(action)
    return tuple(actions) if ok else None


def _action(ctx: FileContext, item: YNode) -> Action | None:
    if isinstance(item, YScalar) and item.value == INTERNAL_NOTE:
        return Action(INTERNAL_NOTE)  # the bare name: a note with the default text
    if not isinstance(item, YMap) or len(item.entries) != 1:
        ctx.report(
            item,
            "E216",
            "an action is one mapping like {set_priority: urgent}, {assign: {group: tier2}}, "
            f"{{add_tag: sla-breached}} or {{internal_note: TEXT}}; got {describe(item)}",
        )
        return None
    [(name, (key, value))] = item.entries.items()
    if name not in ACTION_TYPES:
        ctx.report(
            key,
            "E216",
            f"unknown action '{name}'; expected one of {', '.join(ACTION_TYPES)}"
            f"{did_you_mean(name, ACTION_TYPES)}",
        )
        return None
    if name == ASSIGN:
        return _assign(ctx, value)
    if name == INTERNAL_NOTE and isinstance(value, YScalar) and value.value in (None, True):
        return Action(INTERNAL_NOTE)
    text = ctx.text(value, f"'{name}'")
    if text is None:
        return None
    if name == SET_PRIORITY and text not in PRIORITIES:
        ctx.report(
            value,
            "E216",
            f"unknown priority '{text}' for set_priority; expected one of "
            f"{', '.join(PRIORITIES)}{did_you_mean(text, PRIORITIES)}",
        )
        return None
    if name == ADD_TAG and not text.strip():
        ctx.report(value, "E216", "add_tag needs a tag")
        return None
    return Action(name, text)


def _assign(ctx: FileContext, value: YNode) -> Action | None:
    body = ctx.mapping(value, "'assign'")
    if body is None:
        return None
    unknown = ctx.unknown_keys(body.entries, ASSIGN_KEYS, "'assign'")
    found = {
        name: ctx.text(body.entries[name][1], f"'assign: {name}'")
        for name in ASSIGN_KEYS
        if name in body.entries
    }
    if not any(found.values()):
        if not unknown:  # a misspelt key is reported already
            ctx.report(value, "E216", "assign needs a group, an agent, or both")
        return None
    return Action(ASSIGN, group=found.get("group"), agent=found.get("agent"))


__all__ = ["actions_of"]
