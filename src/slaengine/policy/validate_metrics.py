"""One metric of a policy: targets, pauses, warnings, escalations and clock rules."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from slaengine.actions import Action
from slaengine.day_targets import DAY_TARGETS
from slaengine.durations import format_duration, parse_duration, parse_working_days
from slaengine.policy.definition import MetricDefinition, StateCondition
from slaengine.policy.model import (
    ASSIGNMENT,
    COUNTS_FROM,
    DUE_AT_CLOSING,
    ESCALATION,
    FIRST_RESPONSE,
    FULFILMENTS,
    METRIC_KINDS,
    MISSES,
    NEXT_RESPONSE,
    ON_REOPEN,
    PERIODIC_UPDATE,
    PRECISIONS,
    RESOLUTION,
    RESPONSE_METRICS,
    STARTS,
    STOPS_AT,
    WARNING,
    WHEN_SOLVED,
    AlertRule,
)
from slaengine.policy.nodes import FileContext, NotifyTargets, describe, flag
from slaengine.policy.semantics import METRIC_RULES, Preset
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.policy.validate_actions import actions_of
from slaengine.problems import did_you_mean
from slaengine.timeline import PRIORITIES, STOPPED_STATUSES

# A metric's keys: its targets and alerts, the clock rules a preset may also set, its goal.
METRIC_KEYS = ("targets", "pause_when", "calendar", "warn_at", "escalations", *METRIC_RULES, "goal")
# The metrics each clock rule applies to (E213 for any other).
RULE_METRICS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "fulfilled_by": RESPONSE_METRICS,
        "starts": frozenset({FIRST_RESPONSE, RESOLUTION}),
        "start_delay": frozenset({FIRST_RESPONSE, RESOLUTION}),
        "staff_created": frozenset({FIRST_RESPONSE}),
        "assignment_counts": frozenset({FIRST_RESPONSE}),
        "counts_from": frozenset({NEXT_RESPONSE}),
        "customer_message_stops": frozenset({PERIODIC_UPDATE}),
        "before_first_reply": frozenset({NEXT_RESPONSE, PERIODIC_UPDATE}),
        "when_solved": RESPONSE_METRICS,
        "on_reopen": frozenset({RESOLUTION}),
        "stops_at": frozenset({RESOLUTION}),
        "misses": frozenset({NEXT_RESPONSE}),
        "day_targets": frozenset(METRIC_KINDS),
        "hide_when": frozenset(METRIC_KINDS),
    }
)
CHOICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "fulfilled_by": FULFILMENTS,
        "starts": STARTS,
        "counts_from": COUNTS_FROM,
        "when_solved": WHEN_SOLVED,
        "on_reopen": ON_REOPEN,
        "stops_at": STOPS_AT,
        "misses": MISSES,
        "day_targets": DAY_TARGETS,
        "precision": PRECISIONS,
        "due_at_closing": DUE_AT_CLOSING,
        "staff_created": ("measured", "exempt"),
        "before_first_reply": ("exempt", "measured"),
    }
)
WARN_KEYS = ("at", "before", "notify", "actions")
ESCALATION_KEYS = ("after", "notify", "actions")
_PERCENT = re.compile(r"^\s*(\d{1,3})\s*%\s*$")


def _target(value: object) -> int:
    """Seconds of a target, or ``-n`` for ``n`` working days (resolved with the calendar)."""
    days = parse_working_days(value)
    return -days if days is not None else parse_duration(value)


def targets_of(ctx: FileContext, node: YNode, where: str) -> dict[str, int] | None:
    """Targets per priority: seconds, or ``-n`` for ``n`` working days (see :func:`_target`)."""
    if isinstance(node, YScalar) and node.value is None:  # "targets:" with nothing after it
        ctx.report(
            node,
            "E102",
            f"'targets' of {where} has no value; give a duration like 4h, or one per "
            "priority like {urgent: 1h, high: 4h, normal: 8h, low: 24h}",
        )
        return None
    if isinstance(node, YScalar):
        try:
            seconds = _target(node.value)
        except ValueError as exc:
            ctx.report(node, "E201", f"bad target of {where}: {exc}")
            return None
        return dict.fromkeys(PRIORITIES, seconds)
    body = ctx.mapping(node, f"'targets' of {where}")
    if body is None:
        return None
    targets: dict[str, int] = {}
    for name, (key, value) in body.entries.items():
        if name not in PRIORITIES:
            ctx.report(
                key,
                "E207",
                f"unknown priority '{name}' in 'targets'; expected "
                f"{', '.join(PRIORITIES)}{did_you_mean(name, PRIORITIES)}",
            )
            continue
        if not isinstance(value, YScalar):
            ctx.report(
                value,
                "E201",
                f"bad target for {name}: expected a duration like 90m, "
                f"2h or 1h30m, got {describe(value)}",
            )
            continue
        try:
            targets[name] = _target(value.value)
        except ValueError as exc:
            ctx.report(value, "E201", f"bad target for {name}: {exc}")
    missing = [p for p in PRIORITIES if p not in body.entries]
    if missing:
        ctx.report(
            body,
            "E102",
            f"'targets' of {where} has no target for {', '.join(missing)}; "
            "give every priority one (or one duration for all)",
        )
    return targets if len(targets) == len(PRIORITIES) else None


def statuses(
    ctx: FileContext, node: YNode, allowed: Sequence[str], key: str = "pause_when"
) -> frozenset[str]:
    """The statuses listed under ``key``; E208 for stopping and unknown ones."""
    found: set[str] = set()
    for value, item in ctx.text_list(node, "a status"):
        if value in STOPPED_STATUSES:
            ctx.report(
                item,
                "E208",
                f"'{value}' stops clocks; there is no deadline to hide"
                if key == "hide_when"
                else f"'{value}' stops clocks; it cannot pause them",
            )
        elif value not in allowed:
            ctx.report(
                item,
                "E208",
                f"unknown status '{value}' in '{key}'; expected one of "
                f"{', '.join(allowed)}{did_you_mean(value, allowed)}",
            )
        else:
            found.add(value)
    return frozenset(found)


@dataclass(slots=True)
class DraftMetric:
    """A metric whose calendar name is resolved after all files are read."""

    kind: str
    key: YNode
    targets: dict[str, int] | None  # None when invalid (already reported)
    pauses: frozenset[str]
    calendar_ref: tuple[str, YNode] | None
    alerts: tuple[AlertRule, ...] | None  # None when invalid
    rules: dict[str, Any] = field(default_factory=dict)  # clock rules, preset defaults applied
    conditions: tuple[StateCondition, ...] = ()  # pause_when conditions (tags, group...)
    defined: bool = False  # a metric defined under the top-level 'metrics:'
    definition: MetricDefinition | None = None  # its definition (None when broken)


def notify_targets(ctx: FileContext, body: YMap) -> tuple[str, ...]:
    if "notify" not in body.entries:
        return ()
    names = ctx.text_list(body.entries["notify"][1], "a notify target")
    known = ctx.notifiers
    if known is not None:
        left_out = known.left_out if isinstance(known, NotifyTargets) else {}
        for name, node in names:
            if name not in known:
                ctx.report(
                    node, "E305", f"unknown notify target '{name}'{_why(name, known, left_out)}"
                )
    return tuple(name for name, _ in names)


def _why(name: str, known: frozenset[str], left_out: Mapping[str, str]) -> str:
    """What an unknown notify target's ``E305`` adds: why it is unknown, or the known ones."""
    if name in left_out:
        return f": {left_out[name]}"
    if known:
        return f"; expected one of {', '.join(sorted(known))}{did_you_mean(name, known)}"
    return (
        "; no notify target is registered: notifier plugins register the targets of the "
        "settings file (see docs/hooks.md)"
    )


def _actions(ctx: FileContext, body: YMap) -> tuple[Action, ...] | None:
    """The ``actions`` of a warning or escalation: () when absent, None when invalid."""
    if "actions" not in body.entries:
        return ()
    return actions_of(ctx, body.entries["actions"][1])


def _offset_warnings(
    ctx: FileContext, items: Sequence[YNode], shortest: int | None
) -> list[AlertRule] | None:
    """``warn_at: [{before: 8h, notify: [...]}]``: warnings at a fixed business time before
    the target (GLPI's escalation levels), earliest first. Every target must be longer
    than each offset (``shortest``: the shortest target in seconds, None when unknown).
    ``{before: 1 working day}`` counts whole working days back from the due; such
    warnings are numbered first, then the offsets in time."""
    # Keyed by (working days, seconds), one of them zero: sorted descending, earliest first.
    found: dict[tuple[int, int], tuple[tuple[str, ...], tuple[Action, ...]]] = {}
    ok = True
    for item in items:
        if not isinstance(item, YMap) or "before" not in item.entries:
            ctx.report(
                item,
                "E211",
                "warnings of one metric are all shares of the target ('at') or all offsets "
                f"before it ('before'); got {describe(item)} among offsets",
            )
            ok = False
            continue
        ctx.keys(item, WARN_KEYS, "a warning")
        notify = notify_targets(ctx, item)
        actions = _actions(ctx, item)
        before_node = item.entries["before"][1]
        if "at" in item.entries:
            ctx.report(item.entries["at"][0], "E211", "a warning has 'at' or 'before', not both")
            ok = False
            continue
        raw = before_node.value if isinstance(before_node, YScalar) else None
        try:
            days = parse_working_days(raw) or 0
            before = 0 if days else parse_duration(raw)
        except ValueError as exc:
            ctx.report(before_node, "E201", f"bad 'before' of a warning: {exc}")
            ok = False
            continue
        if days:
            # Not checked against the targets: a level before the clock's start is at it.
            if (days, 0) in found:
                plural = "s" if days > 1 else ""
                twice = f"a warning {days} working day{plural} before the target is given twice"
                ctx.report(before_node, "E211", twice)
                ok = False
        elif shortest is not None and before >= shortest:
            ctx.report(
                before_node,
                "E211",
                f"a warning {format_duration(before)} before the target needs every target "
                f"to be longer; the shortest is {format_duration(shortest)}",
            )
            ok = False
        elif (0, before) in found:
            twice = f"a warning {format_duration(before)} before the target is given twice"
            ctx.report(before_node, "E211", twice)
            ok = False
        if actions is None:
            ok = False
            continue
        found[days, before] = (notify, actions)
    if not ok:
        return None
    return [
        AlertRule(
            WARNING,
            level,
            before=key[1],
            before_days=key[0],
            notify=found[key][0],
            actions=found[key][1],
        )
        for level, key in enumerate(sorted(found, reverse=True), start=1)
    ]


def warnings_of(
    ctx: FileContext, node: YNode, shortest: int | None = None
) -> list[AlertRule] | None:
    """``warn_at: [50%, {at: 80%, notify: [...]}]`` as warning rules in percent order, or
    ``[{before: 8h}, ...]`` as offsets (:func:`_offset_warnings`)."""
    items = node.items if isinstance(node, YSeq) else [node]
    if any(isinstance(item, YMap) and "before" in item.entries for item in items):
        return _offset_warnings(ctx, items, shortest)
    found: dict[int, tuple[tuple[str, ...], tuple[Action, ...]]] = {}
    ok = True
    unsorted = False
    for item in items:
        notify: tuple[str, ...] = ()
        actions: tuple[Action, ...] = ()
        value = item
        if isinstance(item, YMap):
            ctx.keys(item, WARN_KEYS, "a warning")
            at = ctx.required(item, "at", "a warning")
            notify = notify_targets(ctx, item)  # checked even when the rest is wrong
            given = _actions(ctx, item)
            if at is None or given is None:
                ok = False
                continue
            value, actions = at, given
        text = value.text if isinstance(value, YScalar) else ""
        percent = _PERCENT.match(text)
        if percent is None or not 1 <= int(percent.group(1)) <= 99:
            ctx.report(
                value,
                "E211",
                f"a warning is a share of the target from 1% to 99%, "
                f"like 80%; got {describe(value)}",
            )
            ok = False
            continue
        share = int(percent.group(1))
        if share in found:
            ctx.report(value, "E211", f"warning at {share}% is given twice")
            ok = False
        elif found and share < max(found) and not unsorted:
            # Levels follow the share, so level 1 is always the first reached; a list
            # in another order would suggest otherwise.
            unsorted = True
            ctx.report(
                value,
                "W211",
                f"warn_at is not in increasing order: {share}% comes after {max(found)}%; "
                "warning levels are numbered by share, smallest first, so write them in that "
                "order",
            )
        found[share] = (notify, actions)
    if not ok:
        return None
    return [
        AlertRule(WARNING, level, percent=share, notify=found[share][0], actions=found[share][1])
        for level, share in enumerate(sorted(found), start=1)
    ]


_GOAL: Final = re.compile(r"^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*%\s*$")


def goal_of(ctx: FileContext, node: YNode) -> int | None:
    """An attainment goal like ``95%`` or ``99.5%``, in hundredths of a percent (E220)."""
    text = node.text if isinstance(node, YScalar) and isinstance(node.value, str) else ""
    found = _GOAL.match(text)
    value = None
    if found is not None:
        value = int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))
    if value is not None and value > 10000:
        ctx.report(node, "E220", f"a goal cannot be over 100%; got {describe(node)}")
        return None
    if value is None or value == 0:
        ctx.report(
            node,
            "E220",
            "a goal is the share of clocks to meet, like 95% or 99.5% (above 0%, at most "
            f"100%, up to 2 decimals); got {describe(node)}",
        )
        return None
    return value


def escalations_of(ctx: FileContext, node: YNode) -> list[AlertRule] | None:
    """``escalations: [{after: 0m, notify: [...]}, {after: 2h, ...}]`` in increasing order."""
    items = node.items if isinstance(node, YSeq) else [node]
    rules: list[AlertRule] = []
    ok = True
    previous = -1
    previous_days = 0
    for item in items:
        body = ctx.mapping(item, "an escalation")
        if body is None:
            ok = False
            continue
        ctx.keys(body, ESCALATION_KEYS, "an escalation")
        # Targets and actions are checked even when 'after' is wrong: every problem at once.
        notify = notify_targets(ctx, body)
        actions = _actions(ctx, body)
        after_node = ctx.required(body, "after", "an escalation")
        if after_node is None or actions is None:
            ok = False
            continue
        raw = after_node.value if isinstance(after_node, YScalar) else None
        try:
            days = parse_working_days(raw)
            # 0 (at the breach) is allowed here, unlike for targets.
            zero = isinstance(raw, int | str) and str(raw).strip() in {"0", "0m", "0h", "0s"}
            after = 0 if zero or days is not None else parse_duration(raw)
        except ValueError as exc:
            ctx.report(after_node, "E201", f"bad 'after' of an escalation: {exc}")
            ok = False
            continue
        if days is not None:
            # Working days are counted day by day from the due (GLPI's level delays in days);
            # they come after the escalations in time, in increasing order.
            if days <= previous_days:
                ctx.report(
                    after_node,
                    "E212",
                    "escalations in working days come after those in time, in increasing "
                    "order, each later than the one before",
                )
                ok = False
            previous_days = max(previous_days, days)
            rules.append(
                AlertRule(
                    ESCALATION, len(rules) + 1, after_days=days, notify=notify, actions=actions
                )
            )
            continue
        if previous_days or after <= previous:
            ctx.report(
                after_node,
                "E212",
                "escalations must come in increasing 'after' order, each later than the one before",
            )
            ok = False
        previous = max(previous, after)
        rules.append(
            AlertRule(ESCALATION, len(rules) + 1, after=after, notify=notify, actions=actions)
        )
    return rules if ok else None


def choice(ctx: FileContext, node: YNode, rule: str) -> str | None:
    """One of the values a clock rule allows (E214 otherwise)."""
    value = ctx.text(node, f"'{rule}'")
    if value is None:
        return None
    choices = CHOICES[rule]
    if value not in choices:
        ctx.report(
            node,
            "E214",
            f"unknown value '{value}' for '{rule}'; expected one of "
            f"{', '.join(choices)}{did_you_mean(value, choices)}",
        )
        return None
    return value


def _zero_or_duration(raw: object) -> int:
    """Seconds of a duration; zero may be written 0, 0m, 0h or 0s."""
    if isinstance(raw, int | str) and str(raw).strip() in {"0", "0m", "0h", "0s"}:
        return 0
    return parse_duration(raw)


def _delay(ctx: FileContext, node: YNode) -> int | None:
    """A ``start_delay``: a duration or zero (E201 otherwise)."""
    try:
        return _zero_or_duration(node.value if isinstance(node, YScalar) else None)
    except ValueError as exc:
        ctx.report(node, "E201", f"bad 'start_delay': {exc}")
        return None


ASSIGNMENT_COUNTS = ("assignee", "group", "field:NAME")


def _assignments(ctx: FileContext, node: YNode) -> tuple[str, ...] | None:
    """``assignment_counts``: assignee, group or field:NAME, each at most once (E214)."""
    found: list[str] = []
    ok = True
    for value, item in ctx.text_list(node, "an assignment"):
        name = value.split(":", 1)[1].strip() if value.startswith("field:") else None
        if value not in ASSIGNMENT_COUNTS[:2] and not name:
            ctx.report(
                item,
                "E214",
                f"unknown value '{value}' in 'assignment_counts'; expected assignee, group or "
                f"field:NAME (a custom field, like field:supplier)"
                f"{did_you_mean(value, ASSIGNMENT_COUNTS[:2])}",
            )
            ok = False
            continue
        entry = f"field:{name}" if name else value
        if entry not in found:
            found.append(entry)
    return tuple(found) if ok and found else None


def metric_rules(
    ctx: FileContext, metric: YMap, kind: str, chosen: Preset | None, allowed: Sequence[str]
) -> dict[str, Any]:
    """A metric's clock rules: written ones, else the preset's; E213 where they do not apply."""
    rules: dict[str, Any] = {}
    for rule, kinds in RULE_METRICS.items():
        if chosen is not None and kind in kinds:
            default = chosen.metric_default(kind, rule)
            if default is not None:
                rules[rule] = default
        if rule not in metric.entries:
            continue
        key, node = metric.entries[rule]
        # A metric defined in YAML takes hide_when; its other behaviour is its definition.
        if kind not in kinds and not (rule == "hide_when" and kind not in METRIC_KINDS):
            defined = (
                ""
                if kind in METRIC_KINDS
                else " (a metric defined under 'metrics:' says what it does there)"
            )
            ctx.report(
                key,
                "E213",
                f"'{rule}' does not apply to {kind}; it is a rule of "
                f"{', '.join(k for k in METRIC_KINDS if k in kinds)}{defined}",
            )
            continue
        value: Any
        if rule == "hide_when":
            value = statuses(ctx, node, allowed, "hide_when")
        elif rule == "customer_message_stops":
            value = flag(ctx, node, f"'{rule}'")
        elif rule == "start_delay":
            value = _delay(ctx, node)
        elif rule == "assignment_counts":
            value = _assignments(ctx, node)
        elif rule in ("staff_created", "before_first_reply"):
            chosen_value = choice(ctx, node, rule)
            value = None if chosen_value is None else chosen_value == "measured"
        else:
            value = choice(ctx, node, rule)
            if value == ASSIGNMENT and kind != FIRST_RESPONSE:
                ctx.report(
                    node,
                    "E213",
                    f"'fulfilled_by: {ASSIGNMENT}' is for first_response (time to own), not {kind}",
                )
                value = None
        if value is not None:
            rules[rule] = value
    if (
        kind == FIRST_RESPONSE
        and "assignment_counts" in metric.entries
        and rules.get("fulfilled_by") != ASSIGNMENT
    ):
        ctx.report(
            metric.entries["assignment_counts"][0],
            "E213",
            f"'assignment_counts' says what takes a ticket under 'fulfilled_by: {ASSIGNMENT}'; "
            f"{kind} is not fulfilled by an assignment here",
        )
    return rules


__all__ = [
    "CHOICES",
    "METRIC_KEYS",
    "RULE_METRICS",
    "DraftMetric",
    "choice",
    "escalations_of",
    "goal_of",
    "metric_rules",
    "statuses",
    "targets_of",
    "warnings_of",
]
