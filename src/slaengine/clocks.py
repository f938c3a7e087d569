"""Metric clocks: when each SLA clock starts, pauses, resumes and stops on a ticket.

Pure functions of (events, policy, now). The walk over events yields raw clock
instances (real-time windows in which the clock is switched on, and how it
stopped); measuring them subtracts pauses and counts only the calendar's open
time, all on integer epoch seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from slaengine.calendar import BusinessCalendar
from slaengine.clock_record import Adjustment, ClockRecord, Rule, build_record
from slaengine.clock_triggers import Held, Program, Spec, program
from slaengine.clock_walk import Exemption, RawClock, StatusChange, status_of, walk
from slaengine.day_targets import KEEP_TIME, day_due, day_end, day_target, days_before
from slaengine.policy.definition import StateCondition
from slaengine.policy.model import (
    ESCALATION,
    MINUTES,
    NEXT_OPENING,
    PAUSE,
    PER_CUSTOMER_MESSAGE,
    MetricPolicy,
    Policy,
)
from slaengine.timeline import STOPPED_STATUSES, Event
from slaengine.vocabulary import ClockState, StopReason

# The words of results are the members of slaengine.vocabulary; these names stay for imports.
ACTIVE: Final = ClockState.ACTIVE
PAUSED: Final = ClockState.PAUSED
ACHIEVED: Final = ClockState.ACHIEVED
BREACHED: Final = ClockState.BREACHED
CANCELLED: Final = ClockState.CANCELLED
STATES: Final = tuple(ClockState)

FULFILLED: Final = StopReason.FULFILLED
SOLVED: Final = StopReason.SOLVED
SUPERSEDED: Final = StopReason.SUPERSEDED


@dataclass(frozen=True, slots=True)
class Alert:
    """When a clock reaches one of its metric's warning or escalation points.

    ``at`` is the instant (epoch seconds): in the past once reached, projected
    over open hours for a running clock, ``None`` when it will not be reached
    (the clock stopped first, or is paused).
    """

    kind: str  # "warning" or "escalation"
    level: int
    at: int | None
    notify: tuple[str, ...] = ()

    def __init__(self, kind: str, level: int, at: int | None, notify: tuple[str, ...] = ()) -> None:
        # Written out for the compiled engine (see slaengine.compiled): frozen, so set as
        # the generated one does; compiled, these calls are native stores.
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "notify", notify)


@dataclass(slots=True)
class ClockResult:
    """The state of one instance of one metric's clock at the evaluation instant.

    Instants are epoch seconds; durations are seconds of business time in the
    metric's calendar. ``due`` is when elapsed time reaches the target: in the
    past once reached, projected over open hours for a running clock, ``None``
    while a clock that has not yet breached is paused. ``pauses`` are the
    real-time intervals in which the clock was paused (end ``None``: still paused).
    Treat it as read-only (not frozen only because frozen instances are slower
    to build on the hot path).
    """

    metric: str
    instance: int
    state: str
    start: int
    due: int | None
    stop: int | None
    stop_reason: str | None
    elapsed: int
    paused: int
    target: int
    priority: str
    calendar: str
    pauses: tuple[tuple[int, int | None], ...] = ()
    agent: str | None = None
    alerts: tuple[Alert, ...] = ()
    # The internal agreement the clock belongs to (``None``: the customer SLA's policy) and,
    # for a clock counted per group, the group that held the ticket.
    agreement: str | None = None
    group: str | None = None
    # Misses counted under misses: per_customer_message (None: the metric counts none).
    misses: int | None = None
    # Its segments and adjustments, when the evaluation was asked to record them; a
    # record does not make two results differ.
    record: ClockRecord | None = field(default=None, compare=False)

    def __init__(
        self,
        metric: str,
        instance: int,
        state: str,
        start: int,
        due: int | None,
        stop: int | None,
        stop_reason: str | None,
        elapsed: int,
        paused: int,
        target: int,
        priority: str,
        calendar: str,
        pauses: tuple[tuple[int, int | None], ...] = (),
        agent: str | None = None,
        alerts: tuple[Alert, ...] = (),
        agreement: str | None = None,
        group: str | None = None,
        misses: int | None = None,
        record: ClockRecord | None = None,
    ) -> None:
        # Written out (the dataclass keeps it): compiled, it stores the fields natively,
        # where the generated one runs as Python (see slaengine.compiled).
        self.metric = metric
        self.instance = instance
        self.state = state
        self.start = start
        self.due = due
        self.stop = stop
        self.stop_reason = stop_reason
        self.elapsed = elapsed
        self.paused = paused
        self.target = target
        self.priority = priority
        self.calendar = calendar
        self.pauses = pauses
        self.agent = agent
        self.alerts = alerts
        self.agreement = agreement
        self.group = group
        self.misses = misses
        self.record = record

    @property
    def qualified_metric(self) -> str:
        """The metric's name, after its agreement's and a ``/`` for an agreement's clock:
        what tells two agreements' clocks of one metric apart (notification keys, the
        live store's open clocks)."""
        return self.metric if self.agreement is None else f"{self.agreement}/{self.metric}"

    @property
    def remaining(self) -> int:
        """Business seconds left before the target (negative once over it)."""
        return self.target - self.elapsed

    @property
    def breached_at(self) -> int | None:
        """The instant the target was exceeded, for a breached clock."""
        return self.due if self.state == BREACHED else None


def _pause_intervals(
    statuses: list[StatusChange], pause_when: frozenset[str]
) -> list[tuple[int, int]]:
    """Real-time intervals in which the status is one of ``pause_when``; open end = -1."""
    out: list[tuple[int, int]] = []
    paused_since = -1
    for change in statuses:
        at = change.at
        if (change.status or "new") in pause_when:  # status_of, inlined: per change
            if paused_since == -1:
                paused_since = at
        elif paused_since != -1:
            if at > paused_since:
                out.append((paused_since, at))
            paused_since = -1
    if paused_since != -1:
        out.append((paused_since, -1))
    return out


_NOTHING_HELD: Final[list[Held]] = []  # shared, never changed
_NO_PAUSES: Final[tuple[tuple[int, int | None], ...]] = ()
_NO_PAUSE_LIST: Final[list[tuple[int, int]]] = []  # shared, never changed


def _union(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of two lists of intervals (end -1: open), in order, overlaps joined."""
    if not b:
        return list(a)
    forever = 1 << 62
    joined: list[list[int]] = []
    for start, end in sorted([*a, *b]):
        stop = forever if end == -1 else end
        if joined and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], stop)
        else:
            joined.append([start, stop])
    return [(start, -1 if stop == forever else stop) for start, stop in joined]


def _segments(
    raw: RawClock, pauses: list[tuple[int, int]], now: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int | None]]]:
    """The switched-on windows minus the pauses, and the pauses that overlapped them."""
    segments: list[tuple[int, int]] = []
    used: list[tuple[int, int | None]] = []
    earlier = raw.earlier
    if earlier is not None:
        for i in range(0, len(earlier), 2):
            _window_segments(earlier[i], earlier[i + 1], pauses, now, segments, used)
    _window_segments(raw.on, raw.off, pauses, now, segments, used)
    return segments, used


def _window_segments(
    window_start: int,
    window_end: int,
    pauses: list[tuple[int, int]],
    now: int,
    segments: list[tuple[int, int]],
    used: list[tuple[int, int | None]],
) -> None:
    """One window's part of :func:`_segments`, added to ``segments`` and ``used``."""
    b = now if window_end == -1 else window_end
    a = window_start
    for pause_start, pause_end in pauses:
        p_end = now if pause_end == -1 else pause_end
        if p_end <= a or pause_start >= b:
            continue
        still_open = pause_end == -1 and window_end == -1
        # Comparisons, not max and min: this runs for every paused clock.
        used.append(
            (
                pause_start if pause_start > window_start else window_start,
                None if still_open else (p_end if p_end < b else b),
            )
        )
        if pause_start > a:
            segments.append((a, pause_start))
        a = p_end if p_end > a else a
    if b > a:
        segments.append((a, b))


def _measure(
    raw: RawClock,
    spec: Spec,
    pauses: list[tuple[int, int]],
    priorities: list[str],
    now: int,
) -> ClockResult:
    """``raw``, an instance of ``spec``'s metric, measured at ``now``."""
    calendar = spec.calendar
    start = raw.start
    stop = raw.off
    one_window = raw.earlier is None
    running = stop == -1
    end = now if running else stop
    # A running clock takes the current priority; a stopped one the priority at its stop.
    priority = priorities[-1] if running else priorities[raw.priorities_seen - 1]
    target = spec.targets[priority]
    if target < 0:  # working days counted day by day (day_targets), from this start
        target = day_target(calendar, start, -target, spec.metric.day_targets)

    paused_now = False
    paused_seconds = 0
    used = _NO_PAUSES
    segments: list[tuple[int, int]] | None = None
    due: int | None
    if not pauses and one_window:
        # The common case: one uninterrupted span. The due instant is simply
        # ``target`` open seconds after the start, reached or projected.
        elapsed, due = calendar.measure(start, end, target)
    else:
        segments, used_pauses = _segments(raw, pauses, now)
        elapsed, due = calendar.measure_spans(segments, target)
        paused_now = running and bool(pauses) and pauses[-1][1] == -1
        if due is None and not paused_now:
            due = calendar.add(end, target - elapsed)
        if used_pauses:
            if one_window:
                switched_on = calendar.between(start, end)
            else:
                switched_on = sum(
                    calendar.between(a, now if b == -1 else b) for a, b in raw.windows()
                )
            paused_seconds = switched_on - elapsed
            used = tuple(used_pauses)

    alerts: tuple[Alert, ...] = ()
    if spec.alerts:
        spans = segments if segments is not None else [(start, end)]
        project = running and not paused_now
        # A clock whose deferred start is still ahead projects its points from that start.
        origin = end if end > start else start
        alerts = tuple(
            Alert(
                rule.kind,
                rule.level,
                _reached(calendar, spans, rule.threshold(target), origin, elapsed, project),
                rule.notify,
            )
            for rule in spec.alerts
        )

    if elapsed > target:
        state = BREACHED
    elif running:
        state = PAUSED if paused_now else ACTIVE
    elif raw.stop_reason == FULFILLED or spec.solve_fulfils:
        state = ACHIEVED
    else:
        state = CANCELLED
    if alerts and not running and state != BREACHED:
        alerts = _unreached_escalations(alerts)
    return ClockResult(
        spec.kind,
        raw.number,
        state,
        start,
        due,
        None if running else end,
        None if running else raw.stop_reason,
        elapsed,
        paused_seconds,
        target,
        priority,
        calendar.name,
        used,
        raw.agent,
        alerts,
        None,
        raw.group,
    )


def _unreached_escalations(alerts: tuple[Alert, ...]) -> tuple[Alert, ...]:
    """``alerts`` of a clock that stopped without breaching: it reached no escalation, not
    even ``after: 0m`` when it stopped with exactly its target (a breach needs a second more)."""
    return tuple(
        Alert(alert.kind, alert.level, None, alert.notify) if alert.kind == ESCALATION else alert
        for alert in alerts
    )


def _reached(
    calendar: BusinessCalendar,
    spans: Sequence[tuple[int, int]],
    threshold: int,
    end: int,
    elapsed: int,
    project: bool,
) -> int | None:
    """The instant running time over ``spans`` reaches ``threshold`` business seconds.

    Past the spans it is projected from ``end`` when ``project``, else ``None``.
    """
    if threshold > elapsed:
        return calendar.add(end, threshold - elapsed) if project else None
    # threshold <= elapsed: reached inside the spans.
    return calendar.measure_spans(spans, threshold)[1]


def run_clocks(
    events: Sequence[Event],
    policy: Policy,
    now: int,
    record: bool = False,
    exempt: list[Exemption] | None = None,
) -> list[ClockResult]:
    """Every clock instance of ``policy``'s metrics on a ticket, measured at ``now``.

    ``events`` are one ticket's events in order, the first being ``created``,
    none after ``now``. Results come in policy metric order, then instance order.
    With ``record`` each result carries its :class:`ClockRecord` (segments and
    adjustments); without it nothing is recorded. The metrics a rule exempted from
    starting (``staff_created: exempt``) are added to ``exempt`` when given.
    """
    compiled = program(policy)
    if compiled.has_rules:
        return _run_with_rules(events, policy, compiled, now, record, exempt)
    raws, statuses, priorities, priority_events, _ = walk(events, policy, exempt, compiled)
    results: list[ClockResult] = []
    changed = len(statuses) > 1
    # The pauses of the last set of statuses needed, computed when first needed: metrics
    # that pause mostly share one set, and a dict per ticket would cost more than a second
    # pass over a few status changes for the metric that does not.
    last_when: frozenset[str] | None = None
    last_pauses: list[tuple[int, int]] = _NO_PAUSE_LIST
    for spec in compiled.measured:
        metric = spec.metric
        pause_when = spec.pause_when
        # Most clocks have no pause: one shared empty list, never changed.
        pauses: list[tuple[int, int]] = _NO_PAUSE_LIST
        measured = False
        for raw in raws:
            if raw.metric is not metric:
                continue
            if not measured:
                measured = True
                # Pauses need a status change, or a ticket created in a pausing status.
                if pause_when and (changed or status_of(statuses[0]) in pause_when):
                    if pause_when is not last_when:
                        last_when = pause_when
                        last_pauses = _pause_intervals(statuses, pause_when)
                    pauses = last_pauses
            result = _measure(raw, spec, pauses, priorities, now)
            if record:
                result.record = build_record(
                    raw,
                    pauses,
                    statuses,
                    priorities,
                    priority_events,
                    now,
                    pause_when,
                    0,
                    events=events,
                    bots=policy.bot_replies_count,
                )
            results.append(result)
    return results


def _state(
    elapsed: int,
    target: int,
    running: bool,
    paused_now: bool,
    stop_reason: str | None,
    solve_fulfils: bool,
) -> str:
    if elapsed > target:
        return BREACHED
    if running:
        return PAUSED if paused_now else ACTIVE
    if stop_reason == FULFILLED or solve_fulfils:
        return ACHIEVED
    return CANCELLED


def _run_with_rules(
    events: Sequence[Event],
    policy: Policy,
    compiled: Program,
    now: int,
    record: bool,
    exempt: list[Exemption] | None,
) -> list[ClockResult]:
    raws, statuses, priorities, priority_events, held_by = walk(events, policy, exempt, compiled)
    minutes = policy.precision == MINUTES
    status_now = status_of(statuses[-1])
    pause_cache: dict[
        frozenset[str] | tuple[frozenset[str], tuple[StateCondition, ...]],
        tuple[list[tuple[int, int]], list[Held]],
    ] = {}
    results: list[ClockResult] = []
    for spec in compiled.measured:
        metric = spec.metric
        pause_when = metric.pause_when
        if metric.when_solved == PAUSE:
            pause_when = pause_when | STOPPED_STATUSES
        conditions = metric.pause_conditions
        # The statuses alone key the common case: a frozenset caches its hash.
        key = (pause_when, conditions) if conditions else pause_when
        cached = pause_cache.get(key)
        if cached is None:
            paused = len(statuses) > 1 or status_of(statuses[0]) in pause_when
            pauses = _pause_intervals(statuses, pause_when) if paused else []
            held: list[Held] = _NOTHING_HELD
            if conditions:
                held = held_by[conditions]
                pauses = _union(pauses, [(h[0], h[1]) for h in held])
            if minutes:
                # Pauses are cut at whole minutes, like the time they interrupt.
                pauses = [
                    (a - a % 60, b if b == -1 else b - b % 60)
                    for a, b in pauses
                    if b == -1 or b - b % 60 > a - a % 60
                ]
            cached = pause_cache[key] = (pauses, held)
        pauses, held = cached
        for raw in raws:
            if raw.metric is not metric:
                continue
            result = _measure(raw, spec, pauses, priorities, now)
            adjustments: list[Adjustment] | None = [] if record else None
            _apply_rules(result, raw, metric, policy, pauses, status_now, now, adjustments)
            if adjustments is not None:
                uncounted = sum(
                    a.before - a.after
                    for a in adjustments
                    if a.what == "elapsed" and a.before is not None and a.after is not None
                )
                result.record = build_record(
                    raw,
                    pauses,
                    statuses,
                    priorities,
                    priority_events,
                    now,
                    pause_when,
                    uncounted,
                    adjustments,
                    held,
                    events=events,
                    bots=policy.bot_replies_count,
                )
            results.append(result)
    return results


def _misses(result: ClockResult, raw: RawClock) -> int:
    """A breached instance's misses: one, and one more for each customer message written
    after its due while it ran (each is a new newest unanswered message)."""
    if result.state != BREACHED or result.due is None:
        return 0
    due = result.due
    later = raw.facts.later_messages if raw.facts is not None else None
    return 1 + sum(1 for at in later or () if at > due)


def _day_escalations(result: ClockResult, metric: MetricPolicy, now: int) -> tuple[Alert, ...]:
    """Escalations ``after: N working days``: N working days after the due at its time of
    day (day_targets keep_time), reached when the clock is still over its target then;
    warnings ``before: N working days`` as many working days before it (none while the due
    is unknown, as GLPI drops its levels while a ticket waits)."""
    out: list[Alert] = []
    for rule, alert in zip(metric.alerts, result.alerts, strict=True):
        at: int | None = None
        if rule.before_days:
            if result.due is not None:
                before = days_before(metric.calendar, result.due, rule.before_days)
                at = max(result.start, before)  # a level before the start is at it
                if result.stop is not None and result.stop < at:
                    at = None
            out.append(Alert(alert.kind, alert.level, at, alert.notify))
        # Measured at the breach (after 0); moved from there once the breach is known.
        elif rule.after_days and alert.at is not None and result.due is not None:
            at = day_end(metric.calendar, result.due, rule.after_days, KEEP_TIME)
            if result.stop is not None and at is not None and result.stop < at:
                at = None  # stopped before it
            out.append(Alert(alert.kind, alert.level, at, alert.notify))
        else:
            out.append(alert)
    return tuple(out)


def _apply_rules(
    result: ClockResult,
    raw: RawClock,
    metric: MetricPolicy,
    policy: Policy,
    pauses: Sequence[tuple[int, int]],
    status_now: str,
    now: int,
    adjustments: list[Adjustment] | None,
) -> None:
    """The rules that change a measured result: deferred start, whole minutes, hidden
    deadline, next opening; each change is added to ``adjustments`` when recording."""
    running = result.stop is None
    if running and result.start > now and result.due is not None:
        # Not started yet (first business minute ahead): due counts from the start.
        due = metric.calendar.add(result.start, result.target)
        if adjustments is not None and due != result.due:
            adjustments.append(Adjustment(Rule.STARTS, "due", result.due, due))
        result.due = due
    if policy.precision == MINUTES:
        elapsed = result.elapsed - result.elapsed % 60
        paused = result.paused - result.paused % 60
        if adjustments is not None:
            if elapsed != result.elapsed:
                adjustments.append(Adjustment(Rule.PRECISION, "elapsed", result.elapsed, elapsed))
            if paused != result.paused:
                adjustments.append(Adjustment(Rule.PRECISION, "paused", result.paused, paused))
        result.elapsed, result.paused = elapsed, paused
        paused_now = running and bool(pauses) and pauses[-1][1] == -1
        result.state = _state(
            result.elapsed,
            result.target,
            running,
            paused_now,
            raw.stop_reason,
            metric.solve_fulfils,
        )
        if not running and result.state != BREACHED and result.alerts:
            result.alerts = _unreached_escalations(result.alerts)  # whole minutes: not over
    if metric.misses == PER_CUSTOMER_MESSAGE:
        result.misses = _misses(result, raw)
    if running and status_now in metric.hide_when:
        # The deadline is hidden in this status; its time still counts.
        if adjustments is not None:
            adjustments.append(Adjustment(Rule.HIDE_WHEN, "due", result.due, None, status_now))
        result.due = None
        result.alerts = tuple(
            alert
            if alert.at is not None and alert.at <= now
            else Alert(alert.kind, alert.level, None, alert.notify)
            for alert in result.alerts
        )
    days = metric.targets[result.priority]
    if days < 0 and result.due is not None:
        # A working-day target ends where day_targets says (an opening or a day's end), not
        # at the earliest instant with that much open time; time not counted moves that end.
        next_opening = policy.due_at_closing == NEXT_OPENING
        mode = metric.day_targets
        result.due = day_due(metric.calendar, result.start, -days, mode, result.due, next_opening)
    if (
        policy.due_at_closing == NEXT_OPENING
        and days >= 0  # a day target's end stays where it is, at a day's end too
        and result.due is not None
        and metric.calendar.is_closing(result.due)
    ):
        due = metric.calendar.next_open(result.due)
        if adjustments is not None:
            adjustments.append(Adjustment(Rule.DUE_AT_CLOSING, "due", result.due, due))
        result.due = due
    if result.alerts and any(rule.after_days or rule.before_days for rule in metric.alerts):
        # From the due as shown (GLPI counts its levels from the due it stores).
        result.alerts = _day_escalations(result, metric, now)


__all__ = [
    "ACHIEVED",
    "ACTIVE",
    "BREACHED",
    "CANCELLED",
    "FULFILLED",
    "PAUSED",
    "SOLVED",
    "STATES",
    "SUPERSEDED",
    "Adjustment",
    "Alert",
    "ClockRecord",
    "ClockResult",
    "run_clocks",
]
