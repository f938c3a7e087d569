"""Validation of the top-level ``spikes`` list of a policy file (docs/policies.md)."""

from __future__ import annotations

import re
from typing import Final

from slaengine.durations import parse_duration
from slaengine.policy.nodes import FileContext, describe
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.policy.validate_metrics import notify_targets
from slaengine.problems import did_you_mean
from slaengine.spikes import MEASURES, SpikeRule

SPIKE_KEYS: Final = (
    "name",
    "measure",
    "channels",
    "window",
    "baseline",
    "ratio",
    "min_count",
    "notify",
)
_RATIO: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$")


def spikes_of(ctx: FileContext, node: YNode, seen: dict[str, YNode]) -> list[SpikeRule]:
    """The valid spike rules of ``node``; problems are reported on ``ctx``.

    ``seen`` maps names already used (in any file) to where, for E104.
    """
    if not isinstance(node, YSeq):
        ctx.report(node, "E103", f"'spikes' must be a list, got {describe(node)}")
        return []
    rules = []
    for item in node.items:
        rule = _spike(ctx, item, seen)
        if rule is not None:
            rules.append(rule)
    return rules


def _spike(ctx: FileContext, item: YNode, seen: dict[str, YNode]) -> SpikeRule | None:
    body = ctx.mapping(item, "a spike rule")
    if body is None:
        return None
    ctx.keys(body, SPIKE_KEYS, "a spike rule")
    problems = len(ctx.problems)
    name_node = ctx.required(body, "name", "a spike rule")
    name = None if name_node is None else ctx.text(name_node, "a spike rule's name")
    if name is not None and name_node is not None:
        if not name.strip():
            ctx.report(name_node, "E217", "a spike rule needs a name that is not empty")
        elif name in seen:
            ctx.report(
                name_node,
                "E104",
                f"spike rule '{name}' is already defined at line {seen[name].line}",
            )
        else:
            seen[name] = name_node
    measure = _measure(ctx, body)
    window = _duration(ctx, body, "window", None)
    baseline = _duration(ctx, body, "baseline", None)
    if window is not None and baseline is not None and baseline < window:
        ctx.report(
            body.entries["baseline"][1],
            "E217",
            "a spike rule's baseline must be at least as long as its window",
        )
    ratio = _ratio(ctx, body)
    min_count = _min_count(ctx, body)
    channels = None
    if "channels" in body.entries:
        channels = frozenset(
            name.lower() for name, _ in ctx.text_list(body.entries["channels"][1], "a channel")
        )
    notify = notify_targets(ctx, body)
    if name is None or measure is None or window is None or baseline is None:
        return None
    if len(ctx.problems) > problems:
        return None
    return SpikeRule(name, measure, window, baseline, ratio, min_count, channels, notify)


def _measure(ctx: FileContext, body: YMap) -> str | None:
    node = ctx.required(body, "measure", "a spike rule")
    value = None if node is None else ctx.text(node, "'measure'")
    if node is not None and value is not None and value not in MEASURES:
        ctx.report(
            node,
            "E217",
            f"unknown measure '{value}'; expected one of {', '.join(MEASURES)}"
            f"{did_you_mean(value, MEASURES)}",
        )
        return None
    return value


def _duration(ctx: FileContext, body: YMap, key: str, default: int | None) -> int | None:
    node = ctx.required(body, key, "a spike rule")
    if node is None:
        return default
    try:
        return parse_duration(node.value if isinstance(node, YScalar) else None)
    except ValueError as exc:
        ctx.report(node, "E201", f"bad '{key}' of a spike rule: {exc}")
        return None


def _ratio(ctx: FileContext, body: YMap) -> float:
    if "ratio" not in body.entries:
        return 3.0
    node = body.entries["ratio"][1]
    text = node.text if isinstance(node, YScalar) else ""
    match = _RATIO.match(text)
    if match is None or float(match.group(1)) < 1:
        ctx.report(
            node, "E217", f"a spike ratio is a factor of at least 1 like 3x; got {describe(node)}"
        )
        return 3.0
    return float(match.group(1))


def _min_count(ctx: FileContext, body: YMap) -> int:
    if "min_count" not in body.entries:
        return 10
    node = body.entries["min_count"][1]
    value = node.value if isinstance(node, YScalar) else None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10**9:
        ctx.report(node, "E217", f"min_count is a whole number from 1; got {describe(node)}")
        return 10
    return value


__all__ = ["SPIKE_KEYS", "spikes_of"]
