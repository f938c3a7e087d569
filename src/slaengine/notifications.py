"""What an evaluated ticket owes its watchers: notifications that fell due, and what comes next.

Pure functions of a :class:`~slaengine.engine.TicketResult`: no I/O, no wall clock.
The live engine (:mod:`slaengine.live`) stores and delivers what these decide.

A notification is identified by ``(ticket, agreement, metric, instance, kind, level)``
(no agreement for the customer SLA's clocks); its :attr:`Notification.key` is that
identity as text, the idempotency key a receiver can use to ignore a repeated delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from slaengine.actions import Action
from slaengine.calendar import format_utc
from slaengine.clocks import ACHIEVED, ACTIVE, BREACHED, ClockResult
from slaengine.engine import TicketResult
from slaengine.event_parsing import parse_instant
from slaengine.metric_names import definition_label, definition_name
from slaengine.policy.model import ESCALATION, MINUTES, WARNING, MetricPolicy

BREACH: Final = "breach"
ACHIEVEMENT: Final = "achieved"
SPIKE: Final = "spike"  # a channel's volume surged (slaengine.spikes); no ticket
KINDS: Final = (WARNING, BREACH, ESCALATION, ACHIEVEMENT, SPIKE)


def iso(instant: int | None) -> str | None:
    """``instant`` (epoch seconds) as an ISO 8601 UTC text, or ``None``."""
    return None if instant is None else format_utc(instant)


@dataclass(frozen=True, slots=True)
class Notification:
    """A warning point, breach, escalation level or achievement one clock reached.

    ``at`` is the instant it fell due (epoch seconds); ``due`` the clock's due
    instant. ``level`` numbers warnings and escalations from 1; it is 0 for a
    breach or an achievement. ``notify`` holds the policy's targets for it.
    """

    kind: str
    ticket: str
    policy: str
    metric: str
    instance: int
    level: int
    at: int
    due: int | None
    priority: str
    notify: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()  # write-back the policy asks for (slaengine.actions)
    # A spike's channel, its count in the window and what the baseline expected.
    channel: str = ""
    count: int = 0
    expected: float = 0.0
    # The human label the metric's definition gives, if any (a user-defined metric's).
    metric_label: str = ""
    # The internal agreement of the clock (None: the customer SLA) and, for a clock counted
    # per group, the group that held the ticket.
    agreement: str | None = None
    group: str | None = None

    @property
    def metric_text(self) -> str:
        """The metric as messages name it: ``Ownership (time_to_own)`` when its definition
        gives a label, else its name; after its agreement (``tier2-ola: first_response``)
        and with its group (``ownership of tier2``) where it has them."""
        text = f"{self.metric_label} ({self.metric})" if self.metric_label else self.metric
        if self.group is not None:
            text = f"{text} of {self.group}"
        return text if self.agreement is None else f"{self.agreement}: {text}"

    @property
    def key(self) -> str:
        """The idempotency key: the same notification always has the same key."""
        if self.kind == SPIKE:  # policy: the spike rule; instance: when it started
            return f"spike/{self.policy}/{self.channel}/{self.instance}"
        metric = self.metric if self.agreement is None else f"{self.agreement}/{self.metric}"
        return f"{self.ticket}/{metric}/{self.instance}/{self.kind}/{self.level}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (instants as ISO 8601 UTC texts); ``actions`` only when some."""
        data = {
            "key": self.key,
            "kind": self.kind,
            "ticket": self.ticket,
            "policy": self.policy,
            "metric": self.metric,
            "instance": self.instance,
            "level": self.level,
            "at": iso(self.at),
            "due": iso(self.due),
            "priority": self.priority,
            "notify": list(self.notify),
        }
        if self.metric_label:
            data["metric_label"] = self.metric_label
        # Only an agreement's clock says so: the customer SLA's notifications read as before.
        if self.agreement is not None:
            data["agreement"] = self.agreement
        if self.group is not None:
            data["group"] = self.group
        if self.actions:
            data["actions"] = [action.to_dict() for action in self.actions]
        if self.kind == SPIKE:
            data.update(channel=self.channel, count=self.count, expected=round(self.expected, 3))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        """The notification :meth:`to_dict` wrote."""
        return cls(
            kind=str(data["kind"]),
            ticket=str(data["ticket"]),
            policy=str(data["policy"]),
            metric=str(data["metric"]),
            instance=int(data["instance"]),
            level=int(data["level"]),
            at=parse_instant(data["at"]),
            due=None if data.get("due") is None else parse_instant(data["due"]),
            priority=str(data.get("priority", "")),
            notify=tuple(data.get("notify", ())),
            actions=tuple(Action.from_dict(action) for action in data.get("actions", ())),
            channel=str(data.get("channel", "")),
            count=int(data.get("count", 0)),
            expected=float(data.get("expected", 0.0)),
            metric_label=str(data.get("metric_label") or ""),
            agreement=None if data.get("agreement") is None else str(data["agreement"]),
            group=None if data.get("group") is None else str(data["group"]),
        )


def _definition(result: TicketResult, clock: ClockResult) -> MetricPolicy | None:
    """The definition of ``clock``'s metric in its policy: its agreement's, else the
    ticket's."""
    policy = result.policy_of(clock)
    if policy is None:
        return None
    return next((m for m in policy.metrics if definition_name(m) == clock.metric), None)


def _label_of(result: TicketResult, clock: ClockResult) -> str:
    """The label ``clock``'s metric definition gives, or ``""``."""
    definition = _definition(result, clock)
    return (definition_label(definition) if definition is not None else None) or ""


def _actions_of(definition: MetricPolicy | None) -> dict[tuple[str, int], tuple[Action, ...]]:
    """The write-back actions of a metric's warnings and escalations, by (kind, level)."""
    if definition is None:
        return {}
    return {(rule.kind, rule.level): rule.actions for rule in definition.alerts if rule.actions}


def _points(result: TicketResult, clock: ClockResult) -> Iterable[Notification]:
    """Every point of one clock with a known instant, reached or not."""
    policy = result.policy.name if result.policy is not None else ""
    definition = _definition(result, clock)
    actions = _actions_of(definition)
    label = _label_of(result, clock)

    def make(kind: str, level: int, at: int, notify: tuple[str, ...] = ()) -> Notification:
        return Notification(
            kind,
            result.ticket,
            policy,
            clock.metric,
            clock.instance,
            level,
            at,
            clock.due,
            clock.priority,
            notify,
            actions.get((kind, level), ()),
            metric_label=label,
            agreement=clock.agreement,
            group=clock.group,
        )

    # Only a running or breached clock can reach its breach and escalations: one
    # that stopped with exactly its target counted never will.
    can_breach = clock.state in (ACTIVE, BREACHED)
    for alert in clock.alerts:
        if alert.at is not None and (alert.kind == WARNING or can_breach):
            yield make(alert.kind, alert.level, alert.at, alert.notify)
    if clock.due is not None and can_breach:
        yield make(BREACH, 0, clock.due)
    if clock.state == ACHIEVED and clock.stop is not None:
        yield make(ACHIEVEMENT, 0, clock.stop)


def _is_reached(point: Notification, clock: ClockResult, now: int) -> bool:
    # A clock that has counted exactly its target is not yet breached (a reply
    # at that instant still achieves it), so a breach and an escalation need the
    # clock's breached state, not just an instant at or before ``now``.
    if point.kind in (BREACH, ESCALATION):
        return clock.state == BREACHED and point.at <= now
    return point.at <= now


def reached(result: TicketResult, now: int) -> list[Notification]:
    """The notifications ``result`` has reached by ``now``, in instant order.

    ``result`` must have been evaluated at ``now``: a running clock's projected
    points all lie after it.
    """
    found = [
        point
        for clock in result.clocks
        for point in _points(result, clock)
        if _is_reached(point, clock, now)
    ]
    found.sort(
        key=lambda n: (
            n.at,
            n.agreement is not None,
            n.agreement or "",
            n.metric,
            n.instance,
            KINDS.index(n.kind),
            n.level,
        )
    )
    return found


def _breaches_at(result: TicketResult, clock: ClockResult) -> int | None:
    """When a running clock that has counted exactly its target breaches under
    ``precision: minutes``: once its whole-minute count is over the target (``None``
    under whole seconds, where it breaches a second after its due instant)."""
    policy = result.policy_of(clock)
    if policy is None or policy.precision != MINUTES or clock.due is None:
        return None
    metric = next((m for m in policy.metrics if m.kind == clock.metric), None)
    if metric is None:  # pragma: no cover - every clock comes from one of its policy's metrics
        return None
    return metric.calendar.add(clock.due, 60 * (clock.target // 60 + 1) - clock.target)


def next_point(result: TicketResult, now: int) -> int | None:
    """The earliest instant after ``now`` at which ``result`` may reach another point.

    ``None`` when nothing more will happen without a new event (every clock
    stopped or paused). The live engine re-evaluates the ticket then.
    """
    later = []
    for clock in result.clocks:
        for point in _points(result, clock):
            if _is_reached(point, clock, now):
                continue
            wake = max(point.at, now + 1)
            if point.at <= now and clock.state == ACTIVE:
                # A breach or escalation waiting for the clock to go over its target.
                breach = _breaches_at(result, clock)
                wake = wake if breach is None else max(wake, breach)
            later.append(wake)
    return min(later) if later else None


@dataclass(frozen=True, slots=True)
class MetricStatus:
    """One clock instance as a helpdesk shows it: state, due, what is left, what is next."""

    metric: str
    instance: int
    state: str
    due: int | None
    remaining: int  # business seconds before the target; negative once over it
    next_alert: Notification | None  # the next warning or escalation still to come
    label: str = ""  # the human label the metric's definition gives, if any
    agreement: str | None = None  # the internal agreement; None: the customer SLA
    group: str | None = None  # the group that held the ticket (clocks counted per group)


@dataclass(frozen=True, slots=True)
class TicketStatus:
    """A ticket's SLA status at an instant: its policy and every clock instance."""

    ticket: str
    at: int
    policy: str | None
    metrics: tuple[MetricStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (instants as ISO 8601 UTC texts)."""
        return {
            "ticket": self.ticket,
            "at": iso(self.at),
            "policy": self.policy,
            "metrics": [_status_dict(m) for m in self.metrics],
        }


def _status_dict(m: MetricStatus) -> dict[str, Any]:
    data: dict[str, Any] = {
        "metric": m.metric,
        "instance": m.instance,
        "state": m.state,
        "due": iso(m.due),
        "remaining_seconds": m.remaining,
        "next_alert": None if m.next_alert is None else m.next_alert.to_dict(),
    }
    if m.label:  # only a metric whose definition gives a label
        data["metric_label"] = m.label
    if m.agreement is not None:
        data["agreement"] = m.agreement
    if m.group is not None:
        data["group"] = m.group
    return data


def ticket_status(result: TicketResult, now: int) -> TicketStatus:
    """The status of every clock of ``result`` (evaluated at ``now``)."""
    metrics = []
    for clock in result.clocks:
        # An escalation due exactly now is still to come: the clock breaches a second later.
        upcoming = [
            n
            for n in _points(result, clock)
            if n.kind in (WARNING, ESCALATION) and n.at >= now and not _is_reached(n, clock, now)
        ]
        metrics.append(
            MetricStatus(
                clock.metric,
                clock.instance,
                clock.state,
                clock.due,
                clock.remaining,
                min(upcoming, key=lambda n: n.at) if upcoming else None,
                _label_of(result, clock),
                clock.agreement,
                clock.group,
            )
        )
    policy = result.policy.name if result.policy is not None else None
    return TicketStatus(result.ticket, now, policy, tuple(metrics))


__all__ = [
    "ACHIEVEMENT",
    "BREACH",
    "ESCALATION",
    "KINDS",
    "SPIKE",
    "WARNING",
    "MetricStatus",
    "Notification",
    "TicketStatus",
    "iso",
    "next_point",
    "reached",
    "ticket_status",
]
