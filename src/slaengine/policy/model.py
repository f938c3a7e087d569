"""The policy model: frozen, validated objects built from YAML by ``validate``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from slaengine.actions import Action
from slaengine.calendar import BusinessCalendar
from slaengine.policy.calendar_maps import CalendarChoice, CalendarMap
from slaengine.policy.definition import MetricDefinition, StateCondition, builtin_definition
from slaengine.policy.match import Condition, Match, MatchReads
from slaengine.readonly import ReadOnlyMap
from slaengine.spikes import SpikeRule
from slaengine.timeline import Event, TicketState
from slaengine.vocabulary import MetricKind

FIRST_RESPONSE: Final = MetricKind.FIRST_RESPONSE
NEXT_RESPONSE: Final = MetricKind.NEXT_RESPONSE
PERIODIC_UPDATE: Final = MetricKind.PERIODIC_UPDATE
RESOLUTION: Final = MetricKind.RESOLUTION
METRIC_KINDS: Final = tuple(MetricKind)
RESPONSE_METRICS: Final = frozenset({FIRST_RESPONSE, NEXT_RESPONSE, PERIODIC_UPDATE})

# What fulfils a response metric (``fulfilled_by``).
PUBLIC_AGENT: Final = "public_agent"  # a public agent message (bots with bot_replies_count)
AGENT: Final = "agent"  # any agent message, internal notes too
NOT_REQUESTER: Final = "not_requester"  # any public message not written by the customer
ANY_OUTGOING: Final = "any_outgoing"  # any message not written by the customer, notes too
ASSIGNMENT: Final = "assignment"  # the ticket gets an assignee (time to own); first_response only
FULFILMENTS: Final = (PUBLIC_AGENT, AGENT, NOT_REQUESTER, ANY_OUTGOING, ASSIGNMENT)

# When first_response and resolution start (``starts``).
AT_CREATION: Final = "created"
FIRST_BUSINESS_MINUTE: Final = "first_business_minute"
STARTS: Final = (AT_CREATION, FIRST_BUSINESS_MINUTE)

# Which customer message a next_response instance counts from (``counts_from``).
OLDEST_UNANSWERED: Final = "oldest_unanswered"
LATEST_CUSTOMER_MESSAGE: Final = "latest_customer_message"
COUNTS_FROM: Final = (OLDEST_UNANSWERED, LATEST_CUSTOMER_MESSAGE)

# What solving does to a running response clock (``when_solved``).
STOP: Final = "stop"
PAUSE: Final = "pause"
WHEN_SOLVED: Final = (STOP, PAUSE)

# What a reopen does to a stopped resolution clock (``on_reopen``).
RESUME: Final = "resume"
STAYS_MET: Final = "stays_met"
ON_REOPEN: Final = (RESUME, STAYS_MET)

# Which status stops resolution (``stops_at``): solved (or closed), or closed only.
AT_SOLVED: Final = "solved"
AT_CLOSED: Final = "closed"
STOPS_AT: Final = (AT_SOLVED, AT_CLOSED)

# How many misses a breached next_response instance counts (``misses``): one, or one
# more for each customer message written while it is overdue (Chatwoot).
ONCE: Final = "once"
PER_CUSTOMER_MESSAGE: Final = "per_customer_message"
MISSES: Final = (ONCE, PER_CUSTOMER_MESSAGE)

# Policy-level rules.
SECONDS: Final = "seconds"
MINUTES: Final = "minutes"
PRECISIONS: Final = (SECONDS, MINUTES)
CLOSING: Final = "closing"
NEXT_OPENING: Final = "next_opening"
DUE_AT_CLOSING: Final = (CLOSING, NEXT_OPENING)


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: file and 1-based line and column."""

    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


WARNING: Final = "warning"
ESCALATION: Final = "escalation"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A point on a clock to notify at: a warning before the target, an escalation after it.

    A warning is ``percent`` of the target, or ``before`` business seconds before it
    (working-day targets shorter than that warn at the start); an escalation ``after`` business
    seconds past it (0: at the breach). Both count like the clock itself, so a
    pause delays them. ``before_days`` / ``after_days`` are whole working days counted day by
    day from the due instead. ``level`` numbers each kind from 1 in clock order.
    """

    kind: str
    level: int
    percent: int = 0
    after: int = 0
    before: int = 0  # a warning at this many business seconds before the target (not a share)
    # An escalation this many working days after the due, counted day by day (GLPI).
    after_days: int = 0
    # A warning this many working days before the due, counted day by day (GLPI).
    before_days: int = 0
    notify: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()  # write-back into the helpdesk (slaengine.actions)

    def threshold(self, target: int) -> int:
        """Elapsed business seconds at which this point is reached, for ``target``."""
        if self.kind == WARNING:
            if self.before_days:
                return target  # counted back from the due (slaengine.day_targets)
            if self.before:
                return max(0, target - self.before)
            return target * self.percent // 100
        return target + self.after


@dataclass(frozen=True, slots=True)
class MetricPolicy:
    """One metric's promise within a policy: targets per priority, pauses, calendar.

    ``kind`` is the metric's name: a built-in one, or one defined under a policy file's
    top-level ``metrics:`` (then ``custom`` is its definition). ``definition`` is what the
    clock walk reads: ``custom``, or the built-in definition under this metric's rules.
    """

    kind: str
    targets: Mapping[str, int]  # priority -> seconds of business time
    calendar: BusinessCalendar
    pause_when: frozenset[str] = frozenset()
    location: Location | None = None
    alerts: tuple[AlertRule, ...] = ()  # warnings first, then escalations, each in order
    # Clock rules (docs/policies.md#clock-rules); the defaults are slaengine's own semantics.
    fulfilled_by: str = PUBLIC_AGENT
    starts: str = AT_CREATION
    start_delay: int = 0  # business seconds of the policy calendar after creation (RT Starts)
    staff_created: bool = True  # False: no first_response on tickets an agent opened
    # fulfilled_by: assignment: which assignments take the ticket (assignee, group, field:NAME)
    assignment_counts: tuple[str, ...] = ("assignee",)
    counts_from: str = OLDEST_UNANSWERED
    customer_message_stops: bool = False  # periodic_update: a customer message ends it
    # next_response / periodic_update: also measured before the first reply
    before_first_reply: bool = False
    when_solved: str = STOP
    on_reopen: str = RESUME
    stops_at: str = AT_SOLVED  # resolution: closed = solving does not stop it, closing does
    misses: str = ONCE  # next_response: per_customer_message counts later messages too
    # Working-day targets: open_time (equal days), keep_time or end_of_working_day (GLPI);
    # under the last two a target of n working days stays -n, resolved per clock instance.
    day_targets: str = "open_time"
    hide_when: frozenset[str] = frozenset()
    # Conditions on tags, group, fields... that pause the clock while one holds.
    pause_conditions: tuple[StateCondition, ...] = ()
    custom: MetricDefinition | None = None
    # A calendar map that chooses ``calendar`` per ticket (``calendar`` is then its default).
    calendar_map: CalendarMap | None = None
    # On a policy resolved for one ticket: the map entry that chose ``calendar``.
    calendar_choice: CalendarChoice | None = field(default=None, compare=False)
    # Attainment goal: the share of clocks to meet, in hundredths of a percent (9500: 95%);
    # the metric's own, else the policy's. Read by audits and reports, not by the clocks.
    goal: int | None = None
    definition: MetricDefinition = field(init=False, compare=False, repr=False)
    # True when a solve meets the metric (resolution); read per clock measured.
    solve_fulfils: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        definition = self.custom
        if definition is None:
            definition = builtin_definition(
                self.kind,
                {
                    "fulfilled_by": self.fulfilled_by,
                    "starts": self.starts,
                    "start_delay": self.start_delay,
                    "staff_created": self.staff_created,
                    "assignment_counts": self.assignment_counts,
                    "counts_from": self.counts_from,
                    "customer_message_stops": self.customer_message_stops,
                    "before_first_reply": self.before_first_reply,
                    "when_solved": self.when_solved,
                    "on_reopen": self.on_reopen,
                    "stops_at": self.stops_at,
                    "misses": self.misses,
                },
            )
        object.__setattr__(self, "definition", definition)
        object.__setattr__(self, "solve_fulfils", definition.solve_fulfils)

    @property
    def has_rules(self) -> bool:
        """True when any clock rule differs from the default (a defined metric, a pause
        on a condition: the clocks take their general path)."""
        return (
            self.custom is not None
            or bool(self.pause_conditions)
            or self.fulfilled_by != PUBLIC_AGENT
            or self.starts != AT_CREATION
            or self.start_delay != 0
            or not self.staff_created
            or self.assignment_counts != ("assignee",)
            or self.counts_from != OLDEST_UNANSWERED
            or self.customer_message_stops
            or self.before_first_reply
            or self.when_solved != STOP
            or self.on_reopen != RESUME
            or self.stops_at != AT_SOLVED
            or self.misses != ONCE
            or self.day_targets != "open_time"
            or any(alert.after_days or alert.before_days for alert in self.alerts)
            or bool(self.hide_when)
        )

    def target_for(self, priority: str) -> int:
        """Seconds of business time allowed for ``priority`` (negative: that many working
        days under ``day_targets``, see :mod:`slaengine.day_targets`)."""
        return self.targets[priority]


@dataclass(frozen=True, slots=True)
class Policy:
    """A named SLA policy: which tickets it covers and what it promises them."""

    name: str
    match: Match
    calendar: BusinessCalendar
    metrics: tuple[MetricPolicy, ...]
    bot_replies_count: bool = False
    description: str = ""
    location: Location | None = None
    semantics: str | None = None  # the preset named by 'semantics', if any
    precision: str = SECONDS
    due_at_closing: str = CLOSING
    # Policy versioning: tickets created before this instant skip the policy.
    effective_from: int | None = None
    # Attainment goal for every metric without its own, in hundredths of a percent.
    goal: int | None = None
    # A calendar map that chooses ``calendar`` per ticket (``calendar`` is then its default).
    calendar_map: CalendarMap | None = None
    # On a policy resolved for one ticket: the map entry that chose ``calendar``.
    calendar_choice: CalendarChoice | None = field(default=None, compare=False)
    # True when a clock rule of the policy or one of its metrics is not the default;
    # the clocks take their plain (fast) path otherwise. Computed, not given.
    has_rules: bool = field(init=False, compare=False, repr=False)
    # The calendar maps of the policy and its metrics, in order; empty for most policies.
    maps: tuple[CalendarMap, ...] = field(init=False, compare=False, repr=False)
    # Policies resolved for tickets, by the map entries chosen (bounded by the maps' sizes).
    _resolved: dict[tuple[str | None, ...], Policy] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "has_rules",
            self.precision != SECONDS
            or self.due_at_closing != CLOSING
            or any(metric.has_rules for metric in self.metrics),
        )
        maps: dict[str, CalendarMap] = {}
        for cal_map in (self.calendar_map, *(m.calendar_map for m in self.metrics)):
            if cal_map is not None:
                maps.setdefault(cal_map.name, cal_map)
        object.__setattr__(self, "maps", tuple(maps.values()))
        object.__setattr__(self, "_resolved", {})

    def for_ticket(self, events: Sequence[Event], state: TicketState) -> Policy:
        """This policy with the calendars its calendar maps choose for the ticket.

        The policy itself when it uses no map. Each map is read once per ticket; the
        resolved policy is cached per combination of entries chosen, so tickets share it.
        """
        if not self.maps:
            return self
        keys = tuple(cal_map.choose(events, state) for cal_map in self.maps)
        resolved = self._resolved.get(keys)
        if resolved is None:
            resolved = self._resolve(dict(zip((m.name for m in self.maps), keys, strict=True)))
            self._resolved[keys] = resolved
        return resolved

    def _resolve(self, keys: Mapping[str, str | None]) -> Policy:
        def choice(cal_map: CalendarMap | None) -> CalendarChoice | None:
            return None if cal_map is None else CalendarChoice(cal_map, keys[cal_map.name])

        metrics = []
        for metric in self.metrics:
            chosen = choice(metric.calendar_map)
            if chosen is None:
                metrics.append(metric)
                continue
            metrics.append(
                replace(metric, calendar=chosen.calendar, calendar_map=None, calendar_choice=chosen)
            )
        chosen = choice(self.calendar_map)
        return replace(
            self,
            calendar=self.calendar if chosen is None else chosen.calendar,
            metrics=tuple(metrics),
            calendar_map=None,
            calendar_choice=chosen,
        )

    def applies_to(self, ticket: TicketState) -> bool:
        """True when the policy covers ``ticket``: its match holds and it is in force."""
        if self.effective_from is not None and ticket.created < self.effective_from:
            return False
        return self.match.holds(ticket)


# What an agreement is (``kind``): a reporting label, like ServiceNow's SLA definition type.
OLA: Final = "ola"  # an operational level agreement between teams
UNDERPINNING: Final = "underpinning"  # an underpinning contract with a supplier
AGREEMENT_KINDS: Final = (OLA, UNDERPINNING)
# Where an agreement's clocks count from (``starts``).
ATTACHED: Final = "attached"  # from the instant its match first holds (GLPI OLAs, ServiceNow)
CREATED: Final = "created"  # from the ticket's creation, once it attached (retroactive start)
AGREEMENT_STARTS: Final = (ATTACHED, CREATED)
# What an attached agreement does when its match stops holding (``on_unmatch``).
KEEP: Final = "keep"  # stays attached (GLPI keeps an attached OLA)
DETACH: Final = "detach"  # its clocks stop; a new match attaches it again (ServiceNow, GLPI groups)
AGREEMENT_ON_UNMATCH: Final = (KEEP, DETACH)


@dataclass(frozen=True, slots=True)
class Agreement:
    """An internal agreement (an OLA or underpinning contract) beside the customer SLA.

    Every agreement whose match holds applies, not only the first. ``policy`` carries its
    name, match, calendar and metrics, read like a policy's. It attaches the first time
    its match holds (at creation or a later change) and, with ``on_unmatch: keep``, stays
    attached; with ``detach`` its running clocks stop when the match stops holding and the
    next match attaches it again. Under ``starts: attached`` its clocks see the ticket from
    that instant on, as if it were created then.
    """

    policy: Policy
    kind: str = OLA
    starts: str = ATTACHED
    on_unmatch: str = KEEP

    @property
    def name(self) -> str:
        """The agreement's name (unique among policies and agreements)."""
        return self.policy.name


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Ordered policies with their calendars; the first policy whose match holds applies.

    ``agreements`` apply beside it: every one whose match holds (see :class:`Agreement`).
    """

    policies: tuple[Policy, ...]
    calendars: Mapping[str, BusinessCalendar]
    status_map: Mapping[str, str] = field(default_factory=ReadOnlyMap)
    sources: tuple[str, ...] = ()
    spikes: tuple[SpikeRule, ...] = ()  # volume spike alerts (slaengine.spikes)
    agreements: tuple[Agreement, ...] = ()

    def select(self, ticket: TicketState) -> Policy | None:
        """The first policy whose match holds for ``ticket``, or ``None`` (unmatched)."""
        for policy in self.policies:
            if policy.effective_from is not None and ticket.created < policy.effective_from:
                continue  # a newer version: tickets created before it keep the older one
            if policy.match.holds(ticket):
                return policy
        return None

    def select_reads(self) -> MatchReads | None:
        """What :meth:`select` reads of a ticket besides its creation instant (which only
        the policies' ``effective_from`` read); ``None`` when a custom condition may read
        anything."""
        reads = MatchReads()
        for policy in self.policies:
            more = policy.match.reads()
            if more is None:
                return None
            reads = MatchReads(
                reads.attributes | more.attributes,
                reads.tags | more.tags,
                reads.fields | more.fields,
            )
        return reads

    def by_name(self, name: str) -> Policy:
        """The policy called ``name``; ``KeyError`` if there is none."""
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)


__all__ = [
    "AGENT",
    "AGREEMENT_KINDS",
    "AGREEMENT_ON_UNMATCH",
    "AGREEMENT_STARTS",
    "ANY_OUTGOING",
    "ASSIGNMENT",
    "ATTACHED",
    "AT_CLOSED",
    "AT_CREATION",
    "AT_SOLVED",
    "CLOSING",
    "COUNTS_FROM",
    "CREATED",
    "DETACH",
    "DUE_AT_CLOSING",
    "ESCALATION",
    "FIRST_BUSINESS_MINUTE",
    "FIRST_RESPONSE",
    "FULFILMENTS",
    "KEEP",
    "LATEST_CUSTOMER_MESSAGE",
    "METRIC_KINDS",
    "MINUTES",
    "MISSES",
    "NEXT_OPENING",
    "NEXT_RESPONSE",
    "NOT_REQUESTER",
    "OLA",
    "OLDEST_UNANSWERED",
    "ONCE",
    "ON_REOPEN",
    "PAUSE",
    "PERIODIC_UPDATE",
    "PER_CUSTOMER_MESSAGE",
    "PRECISIONS",
    "PUBLIC_AGENT",
    "RESOLUTION",
    "RESPONSE_METRICS",
    "RESUME",
    "SECONDS",
    "STARTS",
    "STAYS_MET",
    "STOP",
    "STOPS_AT",
    "UNDERPINNING",
    "WARNING",
    "WHEN_SOLVED",
    "Agreement",
    "AlertRule",
    "CalendarChoice",
    "CalendarMap",
    "Condition",
    "Location",
    "Match",
    "MatchReads",
    "MetricPolicy",
    "Policy",
    "PolicySet",
]
