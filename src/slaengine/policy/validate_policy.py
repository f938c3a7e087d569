"""One entry of a policy file's ``policies`` list, before its calendars are resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slaengine.policy.definition import MetricDefinition, StateCondition
from slaengine.policy.match import Match
from slaengine.policy.model import METRIC_KINDS, AlertRule
from slaengine.policy.nodes import FileContext, describe, instant
from slaengine.policy.semantics import PRESETS, Preset, preset
from slaengine.policy.source import YMap, YNode, YScalar
from slaengine.policy.validate_definitions import pauses_of
from slaengine.policy.validate_match import parse_match
from slaengine.policy.validate_metrics import (
    METRIC_KEYS,
    DraftMetric,
    choice,
    escalations_of,
    goal_of,
    metric_rules,
    targets_of,
    warnings_of,
)
from slaengine.problems import did_you_mean
from slaengine.timeline import STATUSES, STOPPED_STATUSES

POLICY_KEYS = (
    "name",
    "description",
    "match",
    "calendar",
    "bot_replies_count",
    "semantics",
    "precision",
    "due_at_closing",
    "effective_from",
    "goal",
    "metrics",
)


@dataclass(slots=True)
class Draft:
    """A policy whose calendar names are resolved after all files are read."""

    ctx: FileContext
    name: str
    name_node: YNode
    node: YMap
    match: Match | None
    calendar_ref: tuple[str, YNode] | None
    bot_replies_count: bool
    description: str
    metrics: list[DraftMetric]
    rules: dict[str, Any] = field(default_factory=dict)  # policy-level clock rules


def parse_policy(
    ctx: FileContext,
    node: YNode,
    index: int,
    defined: Mapping[str, MetricDefinition | None] | None = None,
    *,
    noun: str = "policy",
    extra_keys: tuple[str, ...] = (),
) -> Draft | None:
    """One policy; ``defined`` are the metrics defined under any file's ``metrics:`` (their
    definition, ``None`` when it is broken). An agreement is read by the same rules:
    ``noun`` names it in messages, ``extra_keys`` are its own keys (read by the caller)."""
    defined = defined or {}
    body = ctx.mapping(node, f"{noun} #{index + 1}")
    if body is None:
        return None
    name_node = ctx.required(body, "name", f"{noun} #{index + 1}")
    name = ctx.text(name_node, "'name'") if name_node is not None else None
    if name is not None and name_node is not None and not name.strip():
        ctx.report(name_node, "E102", f"{noun} #{index + 1} has an empty 'name'; give it one")
        name = None
    where = f"{noun} '{name}'" if name else f"{noun} #{index + 1}"
    ctx.keys(body, (*POLICY_KEYS, *extra_keys), where)
    match = (
        parse_match(ctx, body.entries["match"][1], where) if "match" in body.entries else Match()
    )
    calendar_ref = None
    if "calendar" in body.entries:
        cal_node = body.entries["calendar"][1]
        cal_name = ctx.text(cal_node, "'calendar'")
        if cal_name is not None:
            calendar_ref = (cal_name, cal_node)
    chosen = semantics_of(ctx, body)
    bot = bool(chosen.policy.get("bot_replies_count", False)) if chosen else False
    if "bot_replies_count" in body.entries:
        bot_node = body.entries["bot_replies_count"][1]
        if isinstance(bot_node, YScalar) and isinstance(bot_node.value, bool):
            bot = bot_node.value
        else:
            ctx.report(
                bot_node,
                "E103",
                f"'bot_replies_count' must be true or false, got {describe(bot_node)}",
            )
    description = ""
    if "description" in body.entries:
        description = ctx.text(body.entries["description"][1], "'description'") or ""
    policy_rules: dict[str, Any] = {}
    if chosen is not None:
        policy_rules["semantics"] = chosen.name
        for rule in ("precision", "due_at_closing"):
            if rule in chosen.policy:
                policy_rules[rule] = chosen.policy[rule]
    for rule in ("precision", "due_at_closing"):
        if rule in body.entries:
            written = choice(ctx, body.entries[rule][1], rule)
            if written is not None:
                policy_rules[rule] = written
    if "goal" in body.entries:
        policy_goal = goal_of(ctx, body.entries["goal"][1])
        if policy_goal is not None:
            policy_rules["goal"] = policy_goal
    if "effective_from" in body.entries:
        effective = instant(ctx, body.entries["effective_from"][1], "'effective_from'")
        if effective is not None:
            policy_rules["effective_from"] = effective
    metrics: list[DraftMetric] = []
    metrics_node = ctx.required(body, "metrics", where)
    metrics_map = ctx.mapping(metrics_node, f"'metrics' of {where}") if metrics_node else None
    if metrics_map is not None:
        known = (*METRIC_KINDS, *sorted(defined))
        if not metrics_map.entries:
            ctx.report(
                metrics_map, "E102", f"{where} has no metrics; expected some of {', '.join(known)}"
            )
        for kind, (key, value) in metrics_map.entries.items():
            if kind not in known:
                ctx.report(
                    key,
                    "E101",
                    f"unknown metric '{kind}' in {where}; expected one of "
                    f"{', '.join(known)}{did_you_mean(kind, known)}",
                )
                continue
            metric_where = f"{kind} of {where}"
            metric = ctx.mapping(value, f"metric '{kind}'")
            if metric is None:
                continue
            ctx.keys(metric, METRIC_KEYS, f"metric '{kind}'")
            targets_node = ctx.required(metric, "targets", metric_where)
            targets = targets_of(ctx, targets_node, metric_where) if targets_node else None
            allowed = [s for s in STATUSES if s not in STOPPED_STATUSES]
            preset_pauses = chosen.metric_default(kind, "pause_when") if chosen else None
            pauses = frozenset(preset_pauses or ())
            conditions: tuple[StateCondition, ...] = ()
            if "pause_when" in metric.entries:
                pauses, conditions, _ok = pauses_of(ctx, metric.entries["pause_when"][1])
            rules = metric_rules(ctx, metric, kind, chosen, allowed)
            if "goal" in metric.entries:
                metric_goal = goal_of(ctx, metric.entries["goal"][1])
                if metric_goal is not None:
                    rules["goal"] = metric_goal
            metric_calendar = None
            if "calendar" in metric.entries:
                metric_cal_name = ctx.text(metric.entries["calendar"][1], "'calendar'")
                if metric_cal_name is not None:
                    metric_calendar = (metric_cal_name, metric.entries["calendar"][1])
            alerts: list[AlertRule] | None = []
            if "warn_at" in metric.entries:
                # The shortest target in seconds, when every target is (working days are
                # resolved with the calendar later).
                shortest = min(targets.values()) if targets and min(targets.values()) > 0 else None
                warnings = warnings_of(ctx, metric.entries["warn_at"][1], shortest)
                alerts = None if warnings is None else [*warnings]
            if "escalations" in metric.entries:
                escalations = escalations_of(ctx, metric.entries["escalations"][1])
                alerts = None if alerts is None or escalations is None else alerts + escalations
            metrics.append(
                DraftMetric(
                    kind,
                    key,
                    targets,
                    pauses,
                    metric_calendar,
                    None if alerts is None else tuple(alerts),
                    rules,
                    conditions,
                    kind not in METRIC_KINDS,
                    defined.get(kind),
                )
            )
    if name is None or name_node is None:
        return None
    return Draft(
        ctx, name, name_node, body, match, calendar_ref, bot, description, metrics, policy_rules
    )


def semantics_of(ctx: FileContext, body: YMap) -> Preset | None:
    """The preset named by the policy's ``semantics`` key (E306 when unknown)."""
    if "semantics" not in body.entries:
        return None
    node = body.entries["semantics"][1]
    name = ctx.text(node, "'semantics'")
    if name is None:
        return None
    chosen = preset(name)
    if chosen is None:
        ctx.report(
            node,
            "E306",
            f"unknown semantics '{name}'; expected one of {', '.join(PRESETS)}"
            f"{did_you_mean(name.lower(), PRESETS)}",
        )
    return chosen


__all__ = ["Draft", "parse_policy"]
