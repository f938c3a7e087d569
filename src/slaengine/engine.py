"""Evaluate SLA policies on ticket timelines at an instant: the engine's one entry point.

``evaluate`` is a pure function of (policies, timelines, now): no I/O, no wall
clock. Embedded use, batch audits and the CLI all go through it.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Final, cast

from slaengine.agreements import Attachment, agreement_clocks
from slaengine.calendar import to_epoch
from slaengine.clock_walk import Exemption
from slaengine.clocks import ClockResult, run_clocks
from slaengine.policy.model import Agreement, Policy, PolicySet
from slaengine.timeline import TicketState, Timeline, TimelineSet

_AT = attrgetter("at")


@dataclass(frozen=True, slots=True)
class TicketResult:
    """One ticket at the evaluation instant: its attributes, policy and clocks.

    ``policy`` is ``None`` when no policy matches (an unmatched ticket). ``agreements``
    are the internal agreements attached to it; their clocks follow the policy's in
    ``clocks``, each naming its agreement (:attr:`ClockResult.agreement`).
    ``attachments`` records when each attached (and, with ``on_unmatch: detach``,
    detached), in agreement order, then time order. ``exemptions`` are the policy's
    metrics a rule kept from starting on this ticket (``staff_created: exempt``: staff
    opened it), each with the event that decided it.
    """

    ticket: str
    state: TicketState
    policy: Policy | None
    clocks: tuple[ClockResult, ...]
    agreements: tuple[Agreement, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    exemptions: tuple[Exemption, ...] = ()

    def __init__(
        self,
        ticket: str,
        state: TicketState,
        policy: Policy | None,
        clocks: tuple[ClockResult, ...],
        agreements: tuple[Agreement, ...] = (),
        attachments: tuple[Attachment, ...] = (),
        exemptions: tuple[Exemption, ...] = (),
    ) -> None:
        # Written out for the compiled engine, where the dataclass's own runs as Python
        # (see slaengine.compiled); frozen, so set as that one does (native stores compiled).
        object.__setattr__(self, "ticket", ticket)
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "clocks", clocks)
        object.__setattr__(self, "agreements", agreements)
        object.__setattr__(self, "attachments", attachments)
        object.__setattr__(self, "exemptions", exemptions)

    @property
    def matched(self) -> bool:
        """True when a policy applies to the ticket."""
        return self.policy is not None

    def policy_of(self, clock: ClockResult) -> Policy | None:
        """The policy whose metric ``clock`` measures: its agreement's, else the ticket's."""
        if clock.agreement is None:
            return self.policy
        for agreement in self.agreements:
            if agreement.name == clock.agreement:
                return agreement.policy
        return None


#: Answers a :class:`_Selection` keeps; past it, it starts again (matches on customers can
#: make many distinct tuples).
_MAX_ANSWERS: Final = 4096
_UNSEEN: Final = object()


class _Selection:
    """:meth:`PolicySet.select`, decided once per distinct tuple of what it reads.

    ``select``'s answer depends only on the attributes, tags and fields the policies'
    matches read (:meth:`PolicySet.select_reads`) and on which ``effective_from`` instants
    the ticket was created after; tickets that agree on those get the same policy, so each
    tuple is decided once, by ``select`` itself, and remembered. With a custom condition,
    which may read anything, or a field value that cannot be a key, ``select`` decides.
    """

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies
        reads = policies.select_reads()
        self.memo = reads is not None
        attributes = reads.attributes if reads is not None else frozenset()
        self.channel = "channel" in attributes
        self.priority = "priority" in attributes
        self.group = "group" in attributes
        self.assignee = "assignee" in attributes
        self.customer = "customer" in attributes
        self.tags: frozenset[str] = reads.tags if reads is not None else frozenset()
        self.fields: tuple[str, ...] = tuple(sorted(reads.fields)) if reads is not None else ()
        self.eras: tuple[int, ...] = tuple(
            sorted({p.effective_from for p in policies.policies if p.effective_from is not None})
        )
        self.more = bool(self.tags or self.fields or self.eras)
        # With the priority alone read (a common match), the priority is the key: no
        # tuple to build and hash per ticket.
        self.by_priority = (
            self.priority
            and not (self.channel or self.group or self.assignee or self.customer)
            and not self.more
        )
        self.answers: dict[object, Policy | None] = {}

    def select(self, state: TicketState) -> Policy | None:
        """The policy ``policies.select(state)`` gives."""
        if not self.memo:
            return self.policies.select(state)
        if self.by_priority:
            return self._answer(state.priority, state)
        key: tuple[object, ...] = (
            state.channel if self.channel else None,
            state.priority if self.priority else None,
            state.group if self.group else None,
            state.assignee if self.assignee else None,
            state.customer if self.customer else None,
        )
        if self.more:
            fields = state.fields
            key = (
                key,
                state.tags & self.tags if self.tags and state.tags else None,
                tuple([fields.get(name) for name in self.fields]),
                sum([1 for era in self.eras if state.created >= era]),
            )
        return self._answer(key, state)

    def _answer(self, key: object, state: TicketState) -> Policy | None:
        """The policy remembered for ``key``, else ``select``'s for ``state``, remembered."""
        try:
            found = self.answers.get(key, _UNSEEN)
        except TypeError:  # a field's value that is not hashable (a list)
            return self.policies.select(state)
        if found is _UNSEEN:
            found = self.policies.select(state)
            if len(self.answers) >= _MAX_ANSWERS:
                self.answers.clear()
            self.answers[key] = found
        return cast("Policy | None", found)


_SELECTIONS: Final[dict[int, _Selection]] = {}


def _selection(policies: PolicySet) -> _Selection:
    """The :class:`_Selection` of ``policies``, made once per policy set."""
    found = _SELECTIONS.get(id(policies))
    if found is None or found.policies is not policies:
        if len(_SELECTIONS) >= 64:  # policy sets are few; a long-lived process may load more
            _SELECTIONS.clear()
        found = _SELECTIONS[id(policies)] = _Selection(policies)
    return found


def as_epoch(now: dt.datetime | int) -> int:
    """Epoch seconds of ``now``, which must be timezone-aware when a datetime."""
    if isinstance(now, dt.datetime):
        return to_epoch(now)
    return int(now)


def evaluate_timeline(
    policies: PolicySet, timeline: Timeline, now: int, *, segments: bool = False
) -> TicketResult | None:
    """Evaluate one ticket at ``now`` (epoch seconds); ``None`` if created after ``now``.

    With ``segments`` every clock carries the engine's record of it
    (:attr:`ClockResult.record`: segments and adjustments).
    """
    return _evaluate(policies, _selection(policies), timeline, now, segments)


def _evaluate(
    policies: PolicySet, selection: _Selection, timeline: Timeline, now: int, segments: bool
) -> TicketResult | None:
    # evaluate_timeline with the policy set's selection looked up once per run.
    events = timeline.events
    if events[0].at > now:
        return None
    if events[-1].at > now:
        events = events[: bisect_right(events, now, key=_AT)]
    state = timeline.state_at(now)
    policy = selection.select(state)
    if policy is not None and policy.maps:
        # Calendars chosen per ticket (calendar maps): resolved once, shared through a cache.
        policy = policy.for_ticket(events, state)
    exempt: list[Exemption] = []
    clocks = tuple(run_clocks(events, policy, now, segments, exempt)) if policy is not None else ()
    exemptions = tuple(exempt) if exempt else ()
    if not policies.agreements:
        return TicketResult(timeline.ticket, state, policy, clocks, (), (), exemptions)
    found, more = agreement_clocks(policies.agreements, events, now, state, segments)
    attached = tuple(a.agreement for a in found if a.number == 1)
    return TicketResult(
        timeline.ticket, state, policy, clocks + tuple(more), attached, found, exemptions
    )


def iter_evaluate(
    policies: PolicySet,
    timelines: Iterable[Timeline] | TimelineSet,
    now: dt.datetime | int,
    *,
    segments: bool = False,
) -> Iterator[TicketResult]:
    """Evaluate tickets lazily, in the order given; tickets created after ``now`` are skipped.

    ``segments`` records each clock's segments (see :func:`evaluate_timeline`).
    """
    instant = as_epoch(now)
    items = timelines.timelines.values() if isinstance(timelines, TimelineSet) else timelines
    selection = _selection(policies)
    for timeline in items:
        result = _evaluate(policies, selection, timeline, instant, segments)
        if result is not None:
            yield result


def evaluate(
    policies: PolicySet,
    timelines: Iterable[Timeline] | TimelineSet,
    now: dt.datetime | int,
    *,
    segments: bool = False,
) -> list[TicketResult]:
    """Evaluate every ticket at ``now`` (an aware datetime or epoch seconds).

    ``segments`` records each clock's segments (see :func:`evaluate_timeline`).
    """
    return list(iter_evaluate(policies, timelines, now, segments=segments))


__all__ = ["TicketResult", "as_epoch", "evaluate", "evaluate_timeline", "iter_evaluate"]
