"""Metric clocks: when each SLA clock starts, pauses, resumes and stops on a ticket.

Pure functions of (events, policy, now). The walk over events yields raw clock
instances (real-time windows in which the clock is switched on, and how it
stopped); measuring them subtracts pauses and counts only the calendar's open
time, all on integer epoch seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from slaengine.calendar import BusinessCalendar
from slaengine.policy.model import (
    AGENT,
    ANY_OUTGOING,
    ASSIGNMENT,
    FIRST_BUSINESS_MINUTE,
    FIRST_RESPONSE,
    LATEST_CUSTOMER_MESSAGE,
    MINUTES,
    NEXT_OPENING,
    NEXT_RESPONSE,
    NOT_REQUESTER,
    PAUSE,
    PERIODIC_UPDATE,
    PUBLIC_AGENT,
    RESOLUTION,
    RESUME,
    STOP,
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

    @property
    def remaining(self) -> int:
        """Business seconds left before the target (negative once over it)."""
        return self.target - self.elapsed

    @property
    def breached_at(self) -> int | None:
        """The instant the target was exceeded, for a breached clock."""
        return self.due if self.state == BREACHED else None


@dataclass(slots=True)
class _Raw:
    """A clock instance as switched on and off by events, before measuring."""

    metric: MetricPolicy
    number: int
    windows: list[list[int]]  # [start, end]; end == -1 while switched on
    stop_reason: str | None = None
    agent: str | None = None
    # Priority changes applied before the stop (in event order, so a change at
    # the same second but after the stop does not re-target a stopped clock).
    priorities_seen: int = 0

    def switch_off(
        self, at: int, reason: str, priorities_seen: int, agent: str | None = None
    ) -> None:
        self.windows[-1][1] = at
        self.stop_reason = reason
        self.agent = agent
        self.priorities_seen = priorities_seen

    @property
    def running(self) -> bool:
        return self.windows[-1][1] == -1


def _walk(
    events: Sequence[Event], policy: Policy
) -> tuple[list[_Raw], list[tuple[int, str]], list[str]]:
    """Switch clocks on and off along the events (all at or before ``now``)."""
    by_kind: dict[str, MetricPolicy] = {m.kind: m for m in policy.metrics}
    first_response = by_kind.get(FIRST_RESPONSE)
    next_response = by_kind.get(NEXT_RESPONSE)
    periodic = by_kind.get(PERIODIC_UPDATE)
    resolution = by_kind.get(RESOLUTION)
    bots_count = policy.bot_replies_count

    created = events[0]
    status = created.status or "new"
    statuses: list[tuple[int, str]] = [(created.at, status)]
    priorities: list[str] = [created.priority or "normal"]  # in event order
    stopped = status in STOPPED_STATUSES
    raws: list[_Raw] = []
    counts: dict[str, int] = {}

    def start(metric: MetricPolicy | None, at: int) -> _Raw | None:
        if metric is None:
            return None
        number = counts.get(metric.kind, 0) + 1
        counts[metric.kind] = number
        raw = _Raw(metric, number, [[at, -1]])
        raws.append(raw)
        return raw

    fr = start(first_response, created.at) if not stopped else None
    res = start(resolution, created.at) if not stopped else None
    nr: _Raw | None = None
    pu: _Raw | None = None
    responded = False
    waiting_on_reopen = False  # a customer wrote while the ticket was solved or closed

    for event in events[1:]:
        kind = event.type
        at = event.at
        if kind == "message":
            if not event.public:
                continue
            author = event.author
            if author == "agent" or (author == "bot" and bots_count):
                responded = True
                if fr is not None and fr.running:
                    fr.switch_off(at, FULFILLED, len(priorities), event.agent)
                if nr is not None and nr.running:
                    nr.switch_off(at, FULFILLED, len(priorities), event.agent)
                if pu is not None and pu.running:
                    pu.switch_off(at, FULFILLED, len(priorities), event.agent)
                if not stopped and periodic is not None:
                    pu = start(periodic, at)
            elif author == "customer":
                if stopped:
                    # Written to a solved ticket: the customer waits once it reopens.
                    waiting_on_reopen = True
                elif responded and next_response is not None and (nr is None or not nr.running):
                    nr = start(next_response, at)
        elif kind == "status":
            new_status = event.status or status
            now_stopped = new_status in STOPPED_STATUSES
            if now_stopped and not stopped:
                for raw in (fr, nr, pu):
                    if raw is not None and raw.running:
                        raw.switch_off(at, SOLVED, len(priorities))
                if res is not None and res.running:
                    res.switch_off(at, SOLVED, len(priorities))
            elif stopped and not now_stopped:
                if resolution is None:
                    pass
                elif res is None:
                    res = start(resolution, at)
                else:  # a reopen resumes the same instance
                    res.windows.append([at, -1])
                    res.stop_reason = None
                if waiting_on_reopen and responded and next_response is not None:
                    nr = start(next_response, at)
                waiting_on_reopen = False
            stopped = now_stopped
            if new_status != status:
                statuses.append((at, new_status))
                status = new_status
        elif kind == "update" and event.priority is not None:
            priorities.append(event.priority)
    return raws, statuses, priorities


def _pause_intervals(
    statuses: Sequence[tuple[int, str]], pause_when: frozenset[str]
) -> list[tuple[int, int]]:
    """Real-time intervals in which the status is one of ``pause_when``; open end = -1."""
    out: list[tuple[int, int]] = []
    paused_since = -1
    for at, status in statuses:
        if status in pause_when:
            if paused_since == -1:
                paused_since = at
        elif paused_since != -1:
            if at > paused_since:
                out.append((paused_since, at))
            paused_since = -1
    if paused_since != -1:
        out.append((paused_since, -1))
    return out


def _segments(
    windows: Sequence[list[int]], pauses: Sequence[tuple[int, int]], now: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int | None]]]:
    """The switched-on windows minus the pauses, and the pauses that overlapped them."""
    segments: list[tuple[int, int]] = []
    used: list[tuple[int, int | None]] = []
    for window_start, window_end in windows:
        b = now if window_end == -1 else window_end
        a = window_start
        for pause_start, pause_end in pauses:
            p_end = now if pause_end == -1 else pause_end
            if p_end <= a or pause_start >= b:
                continue
            still_open = pause_end == -1 and window_end == -1
            used.append((max(pause_start, window_start), None if still_open else min(p_end, b)))
            if pause_start > a:
                segments.append((a, pause_start))
            a = max(a, p_end)
        if b > a:
            segments.append((a, b))
    return segments, used


def _measure(
    raw: _Raw,
    pauses: Sequence[tuple[int, int]],
    priorities: Sequence[str],
    now: int,
) -> ClockResult:
    metric = raw.metric
    calendar: BusinessCalendar = metric.calendar
    windows = raw.windows
    start = windows[0][0]
    running = windows[-1][1] == -1
    end = now if running else windows[-1][1]
    # A running clock takes the current priority; a stopped one the priority at its stop.
    priority = priorities[-1] if running else priorities[raw.priorities_seen - 1]
    target = metric.targets[priority]

    paused_now = False
    paused_seconds = 0
    used_pauses: list[tuple[int, int | None]] = []
    segments: list[tuple[int, int]] | None = None
    if not pauses and len(windows) == 1:
        # The common case: one uninterrupted span. The due instant is simply
        # ``target`` open seconds after the start, reached or projected.
        elapsed = calendar.between(start, end)
        due: int | None = calendar.add(start, target)
    else:
        segments, used_pauses = _segments(windows, pauses, now)
        elapsed = 0
        due = None
        for a, b in segments:
            length = calendar.between(a, b)
            if due is None and elapsed + length >= target:
                due = calendar.add(a, target - elapsed)
            elapsed += length
        paused_now = running and bool(pauses) and pauses[-1][1] == -1
        if due is None and not paused_now:
            due = calendar.add(end, target - elapsed)
        if used_pauses:
            switched_on = sum(calendar.between(a, now if b == -1 else b) for a, b in windows)
            paused_seconds = switched_on - elapsed

    alerts: tuple[Alert, ...] = ()
    if metric.alerts:
        spans = segments if segments is not None else [(start, end)]
        project = running and not paused_now
        alerts = tuple(
            Alert(
                rule.kind,
                rule.level,
                _reached(calendar, spans, rule.threshold(target), end, elapsed, project),
                rule.notify,
            )
            for rule in metric.alerts
        )

    if elapsed > target:
        state = BREACHED
    elif running:
        state = PAUSED if paused_now else ACTIVE
    elif raw.stop_reason == FULFILLED or metric.kind == RESOLUTION:
        state = ACHIEVED
    else:
        state = CANCELLED
    return ClockResult(
        metric.kind,
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
        tuple(used_pauses),
        raw.agent,
        alerts,
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
    counted = 0
    for a, b in spans:
        length = calendar.between(a, b)
        if counted + length >= threshold:
            return calendar.add(a, threshold - counted)
        counted += length
    return end  # pragma: no cover - threshold <= elapsed is reached inside the spans


def run_clocks(events: Sequence[Event], policy: Policy, now: int) -> list[ClockResult]:
    """Every clock instance of ``policy``'s metrics on a ticket, measured at ``now``.

    ``events`` are one ticket's events in order, the first being ``created``,
    none after ``now``. Results come in policy metric order, then instance order.
    """
    if policy.has_rules:
        return _run_with_rules(events, policy, now)
    raws, statuses, priorities = _walk(events, policy)
    # Pauses need a status change; most tickets of a metric have none.
    no_pauses: list[tuple[int, int]] = []
    pause_cache: dict[frozenset[str], list[tuple[int, int]]] = {frozenset(): no_pauses}
    results: list[ClockResult] = []
    for metric in policy.metrics:
        pause_when = metric.pause_when
        for raw in raws:
            if raw.metric is not metric:
                continue
            pauses = pause_cache.get(pause_when)
            if pauses is None:
                pauses = _pause_intervals(statuses, pause_when) if len(statuses) > 1 else no_pauses
                pause_cache[pause_when] = pauses
            results.append(_measure(raw, pauses, priorities, now))
    return results


# -- clock rules ---------------------------------------------------------------
#
# Policies with clock rules (docs/policies.md#clock-rules) take this path; the
# plain path above stays free of their branches, because it runs once per
# ticket in audits of millions.


def message_fulfils(rule: str, event: Event, bots_count: bool) -> bool:
    """True when message ``event`` (not from the customer) fulfils a metric with ``rule``.

    ``rule`` is the metric's ``fulfilled_by``; ``bots_count`` whether bot replies
    count as agent replies.
    """
    author = event.author
    if rule == PUBLIC_AGENT:
        return event.public and (author == "agent" or (author == "bot" and bots_count))
    if rule == AGENT:
        return author == "agent" or (author == "bot" and bots_count)
    if rule == NOT_REQUESTER:
        return event.public
    return rule == ANY_OUTGOING  # ASSIGNMENT is fulfilled by update events, not messages


def _staff_created(events: Sequence[Event]) -> bool:
    """True when staff opened the ticket: its ``created`` event says so, or (without an
    ``author`` there) its first public message was not written by the customer."""
    opened_by = events[0].author if events else None
    if opened_by is not None:
        return opened_by != "customer"
    for event in events:
        if event.type == "message" and event.public:
            return event.author != "customer"
    return False


def _off(raw: _Raw, at: int, reason: str, priorities_seen: int, agent: str | None = None) -> None:
    # A clock that starts at the first business minute can be answered before it starts.
    raw.switch_off(max(at, raw.windows[-1][0]), reason, priorities_seen, agent)


def _walk_rules(
    events: Sequence[Event], policy: Policy
) -> tuple[list[_Raw], list[tuple[int, str]], list[str]]:
    """:func:`_walk` for a policy with clock rules: what fulfils, starts and stops each clock."""
    by_kind: dict[str, MetricPolicy] = {m.kind: m for m in policy.metrics}
    fr_metric = by_kind.get(FIRST_RESPONSE)
    nr_metric = by_kind.get(NEXT_RESPONSE)
    pu_metric = by_kind.get(PERIODIC_UPDATE)
    res_metric = by_kind.get(RESOLUTION)
    bots = policy.bot_replies_count

    created = events[0]
    status = created.status or "new"
    statuses: list[tuple[int, str]] = [(created.at, status)]
    priorities: list[str] = [created.priority or "normal"]
    stopped = status in STOPPED_STATUSES
    raws: list[_Raw] = []
    counts: dict[str, int] = {}

    def start(metric: MetricPolicy, at: int) -> _Raw:
        number = counts.get(metric.kind, 0) + 1
        counts[metric.kind] = number
        raw = _Raw(metric, number, [[at, -1]])
        raws.append(raw)
        return raw

    def opening(metric: MetricPolicy) -> int:
        if metric.starts == FIRST_BUSINESS_MINUTE:
            return policy.calendar.next_open(created.at)
        return created.at

    fr: _Raw | None = None
    if (
        fr_metric is not None
        and not stopped
        and (fr_metric.staff_created or not _staff_created(events))
    ):
        fr = start(fr_metric, opening(fr_metric))
        if fr_metric.fulfilled_by == ASSIGNMENT and created.assignee:
            _off(fr, created.at, FULFILLED, 1, created.assignee)
    res = start(res_metric, opening(res_metric)) if res_metric is not None and not stopped else None
    nr: _Raw | None = None
    pu: _Raw | None = None
    fr_rule = fr_metric.fulfilled_by if fr_metric is not None else ""
    nr_rule = nr_metric.fulfilled_by if nr_metric is not None else ""
    pu_rule = pu_metric.fulfilled_by if pu_metric is not None else ""
    answered = False  # a message that fulfils next_response has been written
    waiting_on_reopen = False

    for event in events[1:]:
        kind = event.type
        at = event.at
        if kind == "message":
            if event.author == "customer":
                if not event.public:
                    continue
                if stopped:
                    waiting_on_reopen = True
                    continue
                if pu is not None and pu.running and pu.metric.customer_message_stops:
                    _off(pu, at, SUPERSEDED, len(priorities))
                if nr_metric is not None and answered:
                    if nr is None or not nr.running:
                        nr = start(nr_metric, at)
                    elif nr_metric.counts_from == LATEST_CUSTOMER_MESSAGE:
                        nr.windows = [[at, -1]]  # the wait counts from this message
                continue
            if fr is not None and fr.running and message_fulfils(fr_rule, event, bots):
                _off(fr, at, FULFILLED, len(priorities), event.agent)
            if nr_metric is not None and message_fulfils(nr_rule, event, bots):
                answered = True
                if nr is not None and nr.running:
                    _off(nr, at, FULFILLED, len(priorities), event.agent)
            if pu_metric is not None and message_fulfils(pu_rule, event, bots):
                if pu is not None and pu.running:
                    _off(pu, at, FULFILLED, len(priorities), event.agent)
                if not stopped:
                    pu = start(pu_metric, at)
        elif kind == "status":
            new_status = event.status or status
            now_stopped = new_status in STOPPED_STATUSES
            if now_stopped and not stopped:
                for raw in (fr, nr, pu):
                    if raw is not None and raw.running and raw.metric.when_solved == STOP:
                        _off(raw, at, SOLVED, len(priorities))
                if res is not None and res.running:
                    _off(res, at, SOLVED, len(priorities))
            elif stopped and not now_stopped:
                if res_metric is None:
                    pass
                elif res is None:
                    res = start(res_metric, at)
                elif not res.running and res_metric.on_reopen == RESUME:
                    res.windows.append([at, -1])
                    res.stop_reason = None
                if (
                    waiting_on_reopen
                    and answered
                    and nr_metric is not None
                    and (nr is None or not nr.running)
                ):
                    nr = start(nr_metric, at)
                waiting_on_reopen = False
            stopped = now_stopped
            if new_status != status:
                statuses.append((at, new_status))
                status = new_status
        elif kind == "update":
            if event.priority is not None:
                priorities.append(event.priority)
            if event.assignee and fr is not None and fr.running and fr_rule == ASSIGNMENT:
                _off(fr, at, FULFILLED, len(priorities), event.assignee)
    return raws, statuses, priorities


def _state(
    elapsed: int, target: int, running: bool, paused_now: bool, stop_reason: str | None, kind: str
) -> str:
    if elapsed > target:
        return BREACHED
    if running:
        return PAUSED if paused_now else ACTIVE
    if stop_reason == FULFILLED or kind == RESOLUTION:
        return ACHIEVED
    return CANCELLED


def _run_with_rules(events: Sequence[Event], policy: Policy, now: int) -> list[ClockResult]:
    raws, statuses, priorities = _walk_rules(events, policy)
    minutes = policy.precision == MINUTES
    next_opening = policy.due_at_closing == NEXT_OPENING
    status_now = statuses[-1][1]
    pause_cache: dict[frozenset[str], list[tuple[int, int]]] = {}
    results: list[ClockResult] = []
    for metric in policy.metrics:
        pause_when = metric.pause_when
        if metric.when_solved == PAUSE:
            pause_when = pause_when | STOPPED_STATUSES
        pauses = pause_cache.get(pause_when)
        if pauses is None:
            pauses = _pause_intervals(statuses, pause_when) if len(statuses) > 1 else []
            if minutes:
                # Pauses are cut at whole minutes, like the time they interrupt.
                pauses = [
                    (a - a % 60, b if b == -1 else b - b % 60)
                    for a, b in pauses
                    if b == -1 or b - b % 60 > a - a % 60
                ]
            pause_cache[pause_when] = pauses
        for raw in raws:
            if raw.metric is not metric:
                continue
            result = _measure(raw, pauses, priorities, now)
            running = result.stop is None
            if running and result.start > now and result.due is not None:
                # Not started yet (first business minute ahead): due counts from the start.
                result.due = metric.calendar.add(result.start, result.target)
            if minutes:
                result.elapsed -= result.elapsed % 60
                result.paused -= result.paused % 60
                paused_now = running and bool(pauses) and pauses[-1][1] == -1
                result.state = _state(
                    result.elapsed, result.target, running, paused_now, raw.stop_reason, metric.kind
                )
            if running and status_now in metric.hide_when:
                # The deadline is hidden in this status; its time still counts.
                result.due = None
                result.alerts = tuple(
                    alert
                    if alert.at is not None and alert.at <= now
                    else Alert(alert.kind, alert.level, None, alert.notify)
                    for alert in result.alerts
                )
            if next_opening and result.due is not None and metric.calendar.is_closing(result.due):
                result.due = metric.calendar.next_open(result.due)
            results.append(result)
    return results


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
    "Alert",
    "ClockResult",
    "message_fulfils",
    "run_clocks",
]
