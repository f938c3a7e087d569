"""Located YAML nodes to a validated :class:`PolicySet`, collecting every problem.

Checks run shape first (keys and types), then values (durations, times, zones,
dates), then references (calendar names, shadowed policies). Each problem names
the file, line and column, what was expected and, for a misspelling, a guess.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from slaengine.calendar import AlwaysOpen, BusinessCalendar
from slaengine.day_targets import OPEN_TIME
from slaengine.errors import Problem
from slaengine.policy.calendar_maps import CalendarMap
from slaengine.policy.match import Condition
from slaengine.policy.model import Agreement, MetricPolicy, Policy, PolicySet
from slaengine.policy.nodes import FileContext, describe
from slaengine.policy.source import YMap, YNode, YScalar, YSeq
from slaengine.policy.validate_agreements import AgreementDraft, agreements_of
from slaengine.policy.validate_calendar_maps import DraftMap, parse_calendar_map, resolve_map
from slaengine.policy.validate_calendars import parse_calendar
from slaengine.policy.validate_definitions import Defined, definitions_of
from slaengine.policy.validate_policy import Draft, parse_policy
from slaengine.policy.validate_spikes import spikes_of
from slaengine.problems import did_you_mean
from slaengine.readonly import ReadOnlyMap
from slaengine.spikes import SpikeRule
from slaengine.timeline import STATUSES

ALWAYS_OPEN = "24x7"
TOP_KEYS = (
    "version",
    "calendars",
    "calendar_maps",
    "metrics",
    "policies",
    "agreements",
    "statuses",
    "spikes",
)


@dataclass(slots=True)
class _Collected:
    notifiers: frozenset[str] | None = None
    conditions: Mapping[str, Condition] | None = None
    calendars: dict[str, tuple[BusinessCalendar | None, FileContext, YNode]] = field(
        default_factory=dict
    )
    drafts: list[Draft] = field(default_factory=list)
    maps: dict[str, DraftMap] = field(default_factory=dict)  # calendar maps by name
    agreements: list[AgreementDraft] = field(default_factory=list)
    status_map: dict[str, str] = field(default_factory=dict)
    spikes: list[SpikeRule] = field(default_factory=list)
    spike_names: dict[str, YNode] = field(default_factory=dict)
    defined: Defined = field(default_factory=dict)  # metrics defined under 'metrics:'
    problems: list[Problem] = field(default_factory=list)  # syntax problems
    contexts: list[FileContext] = field(default_factory=list)


def _definitions(root: YNode, ctx: FileContext, collected: _Collected) -> None:
    """The file's metric definitions, read before any policy so any file may use them."""
    if isinstance(root, YMap) and "metrics" in root.entries:
        definitions_of(ctx, root.entries["metrics"][1], collected.defined)


def _file(root: YNode, ctx: FileContext, collected: _Collected) -> None:
    body = ctx.mapping(root, "a policy file")
    if body is not None:
        ctx.keys(body, TOP_KEYS, "the policy file")
        if "version" in body.entries:
            version_node = body.entries["version"][1]
            if not (isinstance(version_node, YScalar) and version_node.value == 1):
                ctx.report(
                    version_node,
                    "E209",
                    f"unsupported version {describe(version_node)}; expected 1",
                )
        if "statuses" in body.entries:
            _status_map(ctx, body.entries["statuses"][1], collected.status_map)
        if "spikes" in body.entries:
            spikes = spikes_of(ctx, body.entries["spikes"][1], collected.spike_names)
            collected.spikes.extend(spikes)
        if "calendars" in body.entries:
            calendars = ctx.mapping(body.entries["calendars"][1], "'calendars'")
            for name, (key, value) in calendars.entries.items() if calendars else ():
                if name == ALWAYS_OPEN:
                    ctx.report(
                        key,
                        "E104",
                        f"'{ALWAYS_OPEN}' is built in (always open); choose another name",
                    )
                    continue
                if name in collected.calendars:
                    first = collected.calendars[name]
                    ctx.report(
                        key,
                        "E104",
                        f"calendar '{name}' is already defined at "
                        f"{first[1].source}:{first[2].line}",
                    )
                    continue
                collected.calendars[name] = (parse_calendar(ctx, name, key, value), ctx, key)
        if "calendar_maps" in body.entries:
            _calendar_maps(ctx, body.entries["calendar_maps"][1], collected)
        if "agreements" in body.entries:
            defined = {name: entry[0] for name, entry in collected.defined.items()}
            found = agreements_of(ctx, body.entries["agreements"][1], defined)
            collected.agreements.extend(found)
        policies_node = body.entries.get("policies")
        keys = {"calendars", "calendar_maps", "spikes", "metrics", "agreements"}
        if policies_node is None:
            if not keys & body.entries.keys():
                ctx.report(body, "E102", "the policy file has no 'policies' list")
        elif isinstance(policies_node[1], YSeq):
            defined = {name: entry[0] for name, entry in collected.defined.items()}
            for index, item in enumerate(policies_node[1].items):
                draft = parse_policy(ctx, item, index, defined)
                if draft is not None:
                    collected.drafts.append(draft)
        else:
            ctx.report(
                policies_node[1],
                "E103",
                f"'policies' must be a list, got {describe(policies_node[1])}",
            )


def _calendar_maps(ctx: FileContext, node: YNode, collected: _Collected) -> None:
    maps = ctx.mapping(node, "'calendar_maps'")
    for name, (key, value) in maps.entries.items() if maps else ():
        first = collected.maps.get(name)
        if first is not None:
            ctx.report(
                key,
                "E104",
                f"calendar map '{name}' is already defined at {first.ctx.source}:{first.key.line}",
            )
            continue
        collected.maps[name] = parse_calendar_map(ctx, name, key, value)


def _status_map(ctx: FileContext, node: YNode, status_map: dict[str, str]) -> None:
    body = ctx.mapping(node, "'statuses'")
    if body is None:
        return
    for name, (key, value) in body.entries.items():
        target = ctx.text(value, f"status '{name}'")
        if name in STATUSES:
            ctx.report(key, "E208", f"'{name}' is a built-in status; map only custom ones")
        elif target is not None and target not in STATUSES:
            ctx.report(
                value,
                "E208",
                f"custom status '{name}' must map to one of "
                f"{', '.join(STATUSES)}{did_you_mean(target, STATUSES)}",
            )
        elif target is not None:
            if status_map.get(name, target) != target:
                ctx.report(
                    key, "E104", f"custom status '{name}' is already mapped to '{status_map[name]}'"
                )
            status_map[name] = target


def _resolve(
    collected: _Collected, extra: Mapping[str, BusinessCalendar]
) -> tuple[tuple[Policy, ...], tuple[Agreement, ...]]:
    always = AlwaysOpen(ALWAYS_OPEN)
    # The policy files' own calendars win over those contributed by plugins.
    calendars: dict[str, BusinessCalendar | None] = {ALWAYS_OPEN: always, **extra}
    calendars.update({name: entry[0] for name, entry in collected.calendars.items()})
    known = list(calendars)

    def calendar(ref: tuple[str, YNode], ctx: FileContext) -> BusinessCalendar | None:
        name, node = ref
        if name not in calendars:
            maps = [m for m in collected.maps if m not in calendars]
            ctx.report(
                node,
                "E301",
                f"unknown calendar '{name}'; expected one of "
                f"{', '.join(known + maps)}{did_you_mean(name, known + maps)}",
            )
            return None
        return calendars[name]  # None when the calendar itself was broken (already reported)

    maps: dict[str, CalendarMap | None] = {}
    for name, draft_map in collected.maps.items():
        if name in calendars:
            draft_map.ctx.report(
                draft_map.key,
                "E104",
                f"'{name}' is already the name of a calendar; a calendar map needs its own name",
            )
        maps[name] = resolve_map(draft_map, calendar)

    def lookup(
        ref: tuple[str, YNode] | None,
        ctx: FileContext,
        default: tuple[BusinessCalendar, CalendarMap | None],
    ) -> tuple[BusinessCalendar, CalendarMap | None] | None:
        """A calendar, or a calendar map's default with the map; None when broken."""
        if ref is None:
            return default
        if ref[0] in maps and ref[0] not in calendars:
            cal_map = maps[ref[0]]
            return None if cal_map is None else (cal_map.default, cal_map)
        found = calendar(ref, ctx)
        return None if found is None else (found, None)

    def build(draft: Draft) -> Policy | None:
        """The policy (or an agreement's policy part) of ``draft``; None when incomplete."""
        ctx = draft.ctx
        policy_ref = lookup(draft.calendar_ref, ctx, (always, None))
        metrics: list[MetricPolicy] = []
        complete = draft.match is not None and policy_ref is not None
        for draft_metric in draft.metrics:
            metric_ref = lookup(draft_metric.calendar_ref, ctx, policy_ref or (always, None))
            metric_calendar, metric_map = metric_ref or (None, None)
            targets = draft_metric.targets
            definition = draft_metric.definition
            if (
                targets is None
                or metric_calendar is None
                or draft_metric.alerts is None
                or (draft_metric.defined and definition is None)
            ):
                complete = False
                continue
            day_mode = draft_metric.rules.get("day_targets", OPEN_TIME) != OPEN_TIME
            if not day_mode and any(seconds < 0 for seconds in targets.values()):
                day = metric_calendar.working_day()
                if metric_map is not None and any(
                    c.working_day() != day for c in metric_map.calendars()
                ):
                    # One target for every calendar the map may choose: equal days only.
                    day = None
                if day is None:
                    ctx.report(
                        draft_metric.key,
                        "E215",
                        f"working-day targets of {draft_metric.kind} need a calendar whose open "
                        f"days are all equally long; "
                        + (
                            f"the calendars of map '{metric_map.name}' differ"
                            if metric_map is not None
                            else f"calendar '{metric_calendar.name}' is not"
                        )
                        + "; write hours instead",
                    )
                    complete = False
                    continue
                targets = {p: -s * day if s < 0 else s for p, s in targets.items()}
            rules = dict(draft_metric.rules)
            if "goal" not in rules and "goal" in draft.rules:
                rules["goal"] = draft.rules["goal"]  # the policy's goal, for each metric
            pauses, conditions = draft_metric.pauses, draft_metric.conditions
            if definition is not None:
                # A defined metric: its own pauses join the policy's; solve and reopen
                # are its definition's.
                pauses |= definition.pause
                conditions += definition.pause_conditions
                rules.update(when_solved=definition.when_solved, on_reopen=definition.on_reopen)
            metrics.append(
                MetricPolicy(
                    draft_metric.kind,
                    ReadOnlyMap(targets),
                    metric_calendar,
                    pauses,
                    ctx.location(draft_metric.key),
                    draft_metric.alerts,
                    **rules,
                    pause_conditions=conditions,
                    custom=definition,
                    calendar_map=metric_map,
                )
            )
        if not complete or draft.match is None or policy_ref is None:
            return None
        return Policy(
            draft.name,
            draft.match,
            policy_ref[0],
            tuple(metrics),
            draft.bot_replies_count,
            draft.description,
            ctx.location(draft.node),
            **draft.rules,
            calendar_map=policy_ref[1],
        )

    policies: list[Policy] = []
    names: dict[str, Draft] = {}
    catch_all: Draft | None = None
    for draft in collected.drafts:
        ctx = draft.ctx
        if draft.name in names:
            first = names[draft.name]
            ctx.report(
                draft.name_node,
                "E302",
                f"policy name '{draft.name}' is already used at "
                f"{first.ctx.source}:{first.name_node.line}; names must be unique",
            )
        names.setdefault(draft.name, draft)
        if catch_all is not None:
            ctx.report(
                draft.name_node,
                "E304",
                f"policy '{draft.name}' can never apply: policy "
                f"'{catch_all.name}' ({catch_all.ctx.source}:{catch_all.name_node.line}) "
                "before it matches every ticket; move it up or give that one a 'match'",
            )
        if (
            draft.match is not None
            and draft.match.is_catch_all
            and "effective_from" not in draft.rules
            and catch_all is None
        ):
            catch_all = draft
        policy = build(draft)
        if policy is not None:
            policies.append(policy)
    agreements: list[Agreement] = []
    for agreement in collected.agreements:
        draft = agreement.draft
        if draft.name in names:
            # Every matching agreement applies: two of one name would mix in every report.
            first = names[draft.name]
            draft.ctx.report(
                draft.name_node,
                "E302",
                f"agreement name '{draft.name}' is already used at "
                f"{first.ctx.source}:{first.name_node.line}; names of policies and "
                "agreements must be unique",
            )
        names.setdefault(draft.name, draft)
        built = build(draft)
        if built is not None:
            agreements.append(
                Agreement(built, agreement.kind, agreement.starts, agreement.on_unmatch)
            )
    return tuple(policies), tuple(agreements)


def build_policy_set(
    documents: Sequence[tuple[str, YNode | None, list[Problem]]],
    calendars: Mapping[str, BusinessCalendar] = MappingProxyType({}),
    notifiers: Collection[str] | None = None,
    conditions: Mapping[str, Condition] | None = None,
) -> tuple[PolicySet | None, list[Problem]]:
    """Validate parsed documents ``(source, root, parse problems)`` into one policy set.

    ``calendars`` are named calendars from elsewhere (plugins) that policies may
    use; the files' own calendars take precedence. ``notifiers`` are the known
    notify targets; when given, any other name in ``notify`` is an error (E305).
    ``conditions`` are the custom match conditions by name; any other name in a
    match's ``conditions`` is an error (E307).
    Returns the set (``None`` when any error was found) and every problem, in
    file and line order. Problems whose code starts with ``W`` are warnings.
    """
    collected = _Collected(
        notifiers=(
            notifiers
            if notifiers is None or isinstance(notifiers, frozenset)
            else frozenset(notifiers)
        ),
        conditions=None if conditions is None else MappingProxyType(dict(conditions)),
    )
    roots: list[tuple[YNode, FileContext]] = []
    for source, root, parse_problems in documents:
        collected.problems.extend(parse_problems)
        if root is not None:
            ctx = FileContext(
                source, notifiers=collected.notifiers, conditions=collected.conditions
            )
            collected.contexts.append(ctx)
            _definitions(root, ctx, collected)
            roots.append((root, ctx))
    for root, ctx in roots:
        _file(root, ctx, collected)
    policies, agreements = _resolve(collected, calendars)
    found = collected.problems + [p for ctx in collected.contexts for p in ctx.problems]
    order = {source: i for i, (source, _, _) in enumerate(documents)}
    problems = sorted(found, key=lambda p: (order.get(p.source, 0), p.line, p.column, p.code))
    if any(p.code.startswith("E") for p in problems):
        return None, problems
    calendars = {p.calendar.name: p.calendar for p in policies}
    calendars.update({a.policy.calendar.name: a.policy.calendar for a in agreements})
    for policy in (*policies, *(a.policy for a in agreements)):
        for cal_map in policy.maps:
            calendars.update((c.name, c) for c in cal_map.calendars())
    calendars.update({name: entry[0] for name, entry in collected.calendars.items() if entry[0]})
    return (
        PolicySet(
            policies,
            ReadOnlyMap(calendars),
            ReadOnlyMap(collected.status_map),
            tuple(source for source, _, _ in documents),
            tuple(collected.spikes),
            agreements,
        ),
        problems,
    )


__all__ = ["ALWAYS_OPEN", "build_policy_set"]
