"""A policy file's top-level ``metrics:``: metrics defined by start, stop and pause triggers.

Each definition names the events and conditions that start an instance, stop it as met,
cancel it and pause it; policies then give it targets like a built-in metric. Problems
are located (file, line, column) with a guess for misspelt words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from slaengine.policy.definition import (
    LABEL_MAX,
    PER,
    PER_GROUP,
    RESUME,
    STAYS_MET,
    STOP,
    MetricDefinition,
    On,
    StateCondition,
    Trigger,
)
from slaengine.policy.definition_overlap import same_trigger, together
from slaengine.policy.model import METRIC_KINDS, PAUSE
from slaengine.policy.nodes import FileContext, flag
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.policy.validate_metrics import statuses
from slaengine.problems import did_you_mean
from slaengine.timeline import PRIORITIES, STATUSES, STOPPED_STATUSES

DEFINITION_KEYS: Final = (
    "label",
    "description",
    "start",
    "stop",
    "cancel",
    "pause",
    "repeat",
    "when_solved",
    "on_reopen",
    "per",
    "groups",
)
CONDITION_KEYS: Final = (
    "status",
    "priority",
    "group",
    "assignee",
    "channel",
    "tag",
    "field",
    "not",
)
TRIGGER_WORDS: Final = tuple(On)
_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
PAUSABLE: Final = tuple(s for s in STATUSES if s not in STOPPED_STATUSES)

# A defined metric by name: its definition (None when broken, already reported), the
# file that defines it and the key node.
Defined = dict[str, tuple[MetricDefinition | None, FileContext, YNode]]


def definitions_of(ctx: FileContext, node: YNode, defined: Defined) -> None:
    """Read the top-level ``metrics:`` mapping of one file into ``defined``."""
    body = ctx.mapping(node, "'metrics'")
    if body is None:
        return
    for name, (key, value) in body.entries.items():
        if name in METRIC_KINDS:
            ctx.report(key, "E218", f"'{name}' is a built-in metric; give yours another name")
            continue
        if not _NAME.match(name):
            ctx.report(
                key,
                "E218",
                f"metric name '{name}' must start with a letter and hold only letters, "
                "digits, '_' and '-'",
            )
            continue
        if name in defined:
            _, first_ctx, first_key = defined[name]
            ctx.report(
                key,
                "E104",
                f"metric '{name}' is already defined at {first_ctx.source}:{first_key.line}",
            )
            continue
        defined[name] = (definition_of(ctx, name, value), ctx, key)


def definition_of(ctx: FileContext, name: str, node: YNode) -> MetricDefinition | None:
    """One definition; ``None`` (with problems reported) when it is not valid."""
    where = f"metric '{name}'"
    body = ctx.mapping(node, where)
    if body is None:
        return None
    ctx.keys(body, DEFINITION_KEYS, where)
    per, groups, ok = _per_group(ctx, body, where)
    if "per" in body.entries:
        if per is None:
            return None
        definition = _per_group_definition(ctx, body, name, where, groups)
        return definition if ok else None
    start_node = ctx.required(body, "start", where)
    start = triggers_of(ctx, start_node, "start") if start_node is not None else None
    if start is not None and start_node is not None and any(map(_only_when_solved, start)):
        ctx.report(
            start_node,
            "E218",
            f"{where} would start only on a solved or closed ticket, where no clock starts; "
            "start it on something else (stop or cancel may be 'solved')",
        )
        start = None
    found: dict[str, Any] = {}
    for key in ("stop", "cancel"):
        if key in body.entries:
            triggers = triggers_of(ctx, body.entries[key][1], key)
            ok = ok and triggers is not None
            found[key] = triggers or ()
    if start is not None and ok:
        ok = _overlaps(ctx, body, where, start, found)
    pause: frozenset[str] = frozenset()
    pause_conditions: tuple[StateCondition, ...] = ()
    if "pause" in body.entries:
        pause, pause_conditions, paused_ok = pauses_of(ctx, body.entries["pause"][1], "pause")
        ok = ok and paused_ok
    repeat: bool | None = False
    if "repeat" in body.entries:
        repeat = flag(ctx, body.entries["repeat"][1], "'repeat'")
    when_solved = _word(ctx, body, "when_solved", (STOP, PAUSE), STOP)
    on_reopen = _word(ctx, body, "on_reopen", (STAYS_MET, RESUME), STAYS_MET)
    description = ""
    if "description" in body.entries:
        description = ctx.text(body.entries["description"][1], "'description'") or ""
    label = _label(ctx, body, where)
    if not ok or start is None or repeat is None or when_solved is None or on_reopen is None:
        return None
    return MetricDefinition(
        name,
        start,
        found.get("stop", ()),
        found.get("cancel", ()),
        pause,
        pause_conditions,
        repeat,
        when_solved,
        on_reopen,
        description,
        label or "",
    )


def _per_group(
    ctx: FileContext, body: YMap, where: str
) -> tuple[str | None, frozenset[str] | None, bool]:
    """``per`` and ``groups``: the word, the groups named (``None``: any) and whether both
    are valid. ``groups`` without ``per: group`` is E213."""
    per = _word(ctx, body, "per", PER, "") if "per" in body.entries else ""
    groups: frozenset[str] | None = None
    ok = per is not None
    if "groups" in body.entries:
        key, node = body.entries["groups"]
        named = [text for text, _item in ctx.text_list(node, "a value of 'groups'")]
        if not named:
            ok = False
        groups = frozenset(named)
        if not per:
            ctx.report(key, "E213", f"'groups' of {where} applies only with 'per: group'")
            ok = False
    if not per:
        return None, None, ok
    for word in ("start", "repeat"):
        if word in body.entries:
            ctx.report(
                body.entries[word][0],
                "E218",
                f"{where} is counted per group: an instance starts each time a group takes "
                f"the ticket; remove '{word}'",
            )
            ok = False
    return PER_GROUP, groups, ok


def _per_group_definition(
    ctx: FileContext, body: YMap, name: str, where: str, groups: frozenset[str] | None
) -> MetricDefinition | None:
    """An ownership clock: its stops and cancels come on top of the hand-over and the solve,
    which stop an instance as met."""
    found: dict[str, tuple[Trigger, ...]] = {}
    ok = True
    for key in ("stop", "cancel"):
        if key in body.entries:
            triggers = triggers_of(ctx, body.entries[key][1], key)
            ok = ok and triggers is not None
            found[key] = triggers or ()
    pause: frozenset[str] = frozenset()
    pause_conditions: tuple[StateCondition, ...] = ()
    if "pause" in body.entries:
        pause, pause_conditions, paused_ok = pauses_of(ctx, body.entries["pause"][1], "pause")
        ok = ok and paused_ok
    for key in ("when_solved", "on_reopen"):
        if key in body.entries:
            ctx.report(
                body.entries[key][0],
                "E213",
                f"'{key}' does not apply to {where}: counted per group, a solve ends the "
                "instance and a reopen starts the next",
            )
            ok = False
    description = ""
    if "description" in body.entries:
        description = ctx.text(body.entries["description"][1], "'description'") or ""
    label = _label(ctx, body, where)
    if not ok:
        return None
    return MetricDefinition(
        name,
        (),
        (Trigger(On.SOLVED), *found.get("stop", ())),
        found.get("cancel", ()),
        pause,
        pause_conditions,
        repeat=True,
        description=description,
        label=label or "",
        per=PER_GROUP,
        groups=groups,
    )


def _overlaps(
    ctx: FileContext,
    body: YMap,
    where: str,
    start: tuple[Trigger, ...],
    found: dict[str, tuple[Trigger, ...]],
) -> bool:
    """Report a trigger under both ``stop`` and ``cancel`` (``E218``: the cancel would never
    act, as a stop comes first) and a start that one event can bring with a stop or cancel
    (``W218``); False after an error."""
    ok = True
    cancels = found.get("cancel", ())
    for key in ("stop", "cancel"):
        if key not in body.entries:
            continue
        node = body.entries[key][1]
        nodes = node.items if isinstance(node, YSeq) else [node]
        for trigger, item in zip(found[key], nodes, strict=True):
            if key == "stop" and any(same_trigger(trigger, c) for c in cancels):
                ctx.report(
                    item,
                    "E218",
                    f"'{trigger.text}' is under both 'stop' and 'cancel' of {where}; a stop "
                    "acts before a cancel, so it would never cancel: give it once",
                )
                ok = False
                continue
            begun = next((s for s in start if together(s, trigger)), None)
            if begun is None:
                continue
            later = (
                f"'{trigger.text}' stops holding and begins again (a condition acts only "
                "as it begins to hold)"
                if trigger.condition is not None
                else f"the next '{trigger.text}'"
            )
            ctx.report(
                item,
                "W218",
                f"'start: {begun.text}' and '{key}: {trigger.text}' of {where} can come in "
                f"the same event; the {key} acts first, so the instance that event starts "
                f"runs until {later}",
            )
    return ok


def _only_when_solved(trigger: Trigger) -> bool:
    """True for a start that can only come while the ticket is solved or closed."""
    if trigger.on is not None:
        return trigger.on == On.SOLVED
    condition = trigger.condition
    return (
        condition is not None
        and condition.attribute == "status"
        and not condition.negate
        and set(condition.values) <= STOPPED_STATUSES
    )


def _label(ctx: FileContext, body: YMap, where: str) -> str | None:
    """The ``label``: one line of text, not blank, at most :data:`LABEL_MAX` characters
    (surrounding spaces dropped).

    A bad label is reported and the metric keeps its name, so the other problems of the
    file are still found.
    """
    if "label" not in body.entries:
        return None
    node = body.entries["label"][1]
    text = ctx.text(node, f"'label' of {where}")
    if text is None:
        return None
    label = text.strip()
    if not label:
        ctx.report(node, "E102", f"'label' of {where} is empty; give the words people read")
        return None
    if not label.isprintable():
        ctx.report(node, "E103", f"'label' of {where} must be one line of text, no tabs")
        return None
    if len(label) > LABEL_MAX:
        ctx.report(
            node,
            "E103",
            f"'label' of {where} is {len(label)} characters long; give at most {LABEL_MAX} "
            "(it heads table columns; 'description' takes longer text)",
        )
        return None
    return label


def _word(
    ctx: FileContext, body: YMap, key: str, choices: Sequence[str], default: str
) -> str | None:
    if key not in body.entries:
        return default
    node = body.entries[key][1]
    value = ctx.text(node, f"'{key}'")
    if value is None:
        return None
    if value not in choices:
        ctx.report(
            node,
            "E214",
            f"unknown value '{value}' for '{key}'; expected one of "
            f"{', '.join(choices)}{did_you_mean(value, choices)}",
        )
        return None
    return value


def triggers_of(ctx: FileContext, node: YNode, what: str) -> tuple[Trigger, ...] | None:
    """A trigger, or a list of them: an event word or a condition mapping."""
    items = node.items if isinstance(node, YSeq) else [node]
    if not items:
        ctx.report(node, "E102", f"'{what}' is empty; give an event or a condition")
        return None
    found: list[Trigger] = []
    ok = True
    for item in items:
        if isinstance(item, YMap):
            condition = condition_of(ctx, item)
            if condition is None:
                ok = False
            else:
                found.append(Trigger(condition=condition))
            continue
        if isinstance(item, YScalar) and item.value is None:  # "stop:" with nothing after it
            label = f"'{what}'" if item is node else f"a '{what}' trigger"
            ctx.report(
                item,
                "E103",
                f"{label} has no value; a trigger is an event (like agent_reply), a condition "
                "(like {group: tier2}) or a list of them",
            )
            ok = False
            continue
        word = ctx.text(item, f"a '{what}' trigger")
        if word is None:
            ok = False
        elif word not in TRIGGER_WORDS:
            ctx.report(
                item,
                "E218",
                f"unknown event '{word}' in '{what}'; expected one of "
                f"{', '.join(TRIGGER_WORDS)}, or a condition like {{group: tier2}}"
                f"{did_you_mean(word, TRIGGER_WORDS)}",
            )
            ok = False
        else:
            found.append(Trigger(On(word)))
    return tuple(found) if ok else None


def condition_of(ctx: FileContext, node: YMap, negate: bool = False) -> StateCondition | None:
    """A condition mapping with one key: ``{group: tier2}``, ``{tag: [a, b]}``,
    ``{field: {plan: gold}}``, ``{status: pending}``, or ``{not: CONDITION}``."""
    if len(node.entries) != 1:
        ctx.report(
            node,
            "E218",
            "a condition has exactly one key, one of "
            f"{', '.join(CONDITION_KEYS)}; got {len(node.entries)}",
        )
        return None
    [(attribute, (key, value))] = node.entries.items()
    if attribute not in CONDITION_KEYS:
        ctx.report(
            key,
            "E218",
            f"unknown condition '{attribute}'; expected one of "
            f"{', '.join(CONDITION_KEYS)}{did_you_mean(attribute, CONDITION_KEYS)}",
        )
        return None
    prefix = "not " if negate else ""
    if attribute == "not":
        inner = ctx.mapping(value, "'not'")
        return condition_of(ctx, inner, not negate) if inner is not None else None
    if attribute == "field":
        fields = ctx.mapping(value, "'field'")
        if fields is None:
            return None
        if len(fields.entries) != 1:
            ctx.report(fields, "E218", "'field' names one field: {field: {plan: gold}}")
            return None
        [(name, (_key, wanted))] = fields.entries.items()
        items = wanted.items if isinstance(wanted, YSeq) else [wanted]
        values: list[Any] = []
        for item in items:
            if not isinstance(item, YScalar):
                ctx.report(item, "E103", f"a value of field '{name}' must be a scalar")
                return None
            values.append(item.value)
        if not values:
            ctx.report(wanted, "E218", f"field '{name}' lists no value; give at least one")
            return None
        shown = ", ".join(str(v) for v in values)
        return StateCondition("field", tuple(values), f"{prefix}field {name} {shown}", name, negate)
    if isinstance(value, YSeq) and not value.items:
        ctx.report(value, "E218", f"'{attribute}: []' never holds; give at least one value")
        return None
    before = len(ctx.problems)
    texts = [text for text, _item in ctx.text_list(value, f"a value of '{attribute}'")]
    if len(ctx.problems) > before:
        return None
    known = {"status": STATUSES, "priority": PRIORITIES}.get(attribute)
    if known is not None:
        for text, item in ctx.text_list(value, f"a value of '{attribute}'"):
            if text not in known:
                ctx.report(
                    item,
                    "E208" if attribute == "status" else "E207",
                    f"unknown {attribute} '{text}'; expected one of "
                    f"{', '.join(known)}{did_you_mean(text, known)}",
                )
                return None
    if attribute == "channel":
        texts = [t.lower() for t in texts]
    return StateCondition(
        attribute, tuple(texts), f"{prefix}{attribute} {', '.join(texts)}", None, negate
    )


def pauses_of(
    ctx: FileContext, node: YNode, key: str = "pause_when"
) -> tuple[frozenset[str], tuple[StateCondition, ...], bool]:
    """Statuses and conditions that pause a clock: ``[pending, {tag: waiting-vendor}]``.

    Returns the statuses, the conditions and whether every item was valid.
    """
    items = node.items if isinstance(node, YSeq) else [node]
    found: set[str] = set()
    conditions: list[StateCondition] = []
    ok = True
    for item in items:
        if isinstance(item, YMap):
            condition = condition_of(ctx, item)
            if condition is None:
                ok = False
            else:
                conditions.append(condition)
            continue
        if isinstance(item, YScalar) and item.value is None:  # "pause:" with nothing after it
            label = f"'{key}'" if item is node else f"an item of '{key}'"
            ctx.report(
                item,
                "E103",
                f"{label} has no value; give a status (like pending), a condition (like "
                "{tag: waiting-vendor}) or a list of them",
            )
            ok = False
            continue
        before = len(ctx.problems)
        found |= statuses(ctx, item, PAUSABLE, key)
        ok = ok and len(ctx.problems) == before
    return frozenset(found), tuple(conditions), ok


__all__ = [
    "CONDITION_KEYS",
    "DEFINITION_KEYS",
    "TRIGGER_WORDS",
    "Defined",
    "condition_of",
    "definition_of",
    "definitions_of",
    "pauses_of",
    "triggers_of",
]
