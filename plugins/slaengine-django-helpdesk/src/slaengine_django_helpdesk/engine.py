# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""slaengine's live engine for the site: policies, the state store, advancing and status.

Recorded events (:class:`~.models.SlaEvent`) move into the live engine's store
when the advance command runs; the store decides what fell due and keeps the
outbox, and the dispatcher hands each notification to its notify target (the
write-back actions of :mod:`.actions`, or any slaengine notifier plugin). What
agents see is evaluated from the recorded events directly, so a ticket page is
current even between two runs of the advance command.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from django.db import transaction

from slaengine import PolicySet, TicketResult, build_timelines, evaluate_timeline, load_policies
from slaengine.live import Dispatcher, DispatchReport, LiveEngine, Routing, Store, plugin_routing
from slaengine.notifications import Notification, TicketStatus, ticket_status
from slaengine.plugins import Plugins, make_plugins
from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.models import SlaEvent, SlaTicket

_log = structlog.get_logger("slaengine.django_helpdesk")
ORIGIN = "django-helpdesk"
BATCH = 500
# Clock states, as slaengine names them.
RUNNING = ("active", "breached")


@dataclass(frozen=True, slots=True)
class Runtime:
    """The loaded policies, and who receives each notification and how."""

    policies: PolicySet
    plugins: Plugins
    routing: Routing


@dataclass(frozen=True, slots=True)
class AdvanceResult:
    """What one run of the advance command did."""

    ingested: int
    rejected: int
    evaluated: int
    notifications: tuple[Notification, ...]
    dispatched: DispatchReport
    problems: tuple[str, ...]


_cache: dict[Any, Runtime] = {}


def _fingerprint(paths: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    found: list[tuple[str, float]] = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, files in os.walk(path):
                found.extend(
                    (os.path.join(root, name), os.path.getmtime(os.path.join(root, name)))
                    for name in files
                    if name.endswith((".yaml", ".yml"))
                )
        elif os.path.exists(path):
            found.append((path, os.path.getmtime(path)))
    return tuple(sorted(found))


def runtime(settings: conf.Settings | None = None) -> Runtime:
    """Policies and notifiers for ``settings``; loaded again when a policy file changed."""
    settings = settings or conf.load()
    key = (repr(settings), _fingerprint(settings.policies))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    from slaengine_django_helpdesk import hooks

    plugins = make_plugins(entry_points=settings.plugins, plugins=[("django-helpdesk", hooks)])
    plugins.configure(settings.config)
    notifiers = plugins.notifiers()
    policies = load_policies(
        *[Path(p) for p in settings.policies],
        calendars=plugins.calendars(),
        notifiers=set(notifiers),
        conditions=plugins.conditions(),
    )
    result = Runtime(policies, plugins, plugin_routing(plugins))
    _cache.clear()
    _cache[key] = result
    return result


@contextmanager
def open_store(settings: conf.Settings | None = None) -> Iterator[Store]:
    """The live engine's store (``SLAENGINE["STATE"]``), closed afterwards."""
    settings = settings or conf.load()
    # ``database:ALIAS`` puts the state beside the site's own tables on purpose.
    store = Store.open(
        conf.state_url(settings.state), shared=settings.state.startswith("database:")
    )
    try:
        yield store
    finally:
        store.close()


def epoch(now: dt.datetime) -> int:
    """Integer epoch seconds of an aware instant."""
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}")
    return int(now.timestamp())


# -- what agents see -----------------------------------------------------------------------


def recorded_events(ticket_id: int) -> list[dict[str, Any]]:
    """The canonical events recorded for a ticket, in the order they happened."""
    return [
        dict(payload)
        for payload in SlaEvent.objects.filter(ticket_id=ticket_id)
        .order_by("at", "id")
        .values_list("payload", flat=True)
    ]


def evaluate_ticket(ticket_id: int, now: dt.datetime) -> TicketResult | None:
    """``slaengine.evaluate_timeline`` on the ticket's recorded events at ``now``."""
    policies = runtime().policies
    from slaengine import parse_event

    events = [parse_event(e, status_map=policies.status_map) for e in recorded_events(ticket_id)]
    timeline = build_timelines(events, str(ticket_id)).timelines.get(str(ticket_id))
    if timeline is None:
        return None
    return evaluate_timeline(policies, timeline, epoch(now))


def status(ticket_id: int, now: dt.datetime) -> TicketStatus | None:
    """Per clock: state, due, business time remaining, next warning (``None``: unknown)."""
    result = evaluate_ticket(ticket_id, now)
    return None if result is None else ticket_status(result, epoch(now))


def summarize(ticket_id: int, now: dt.datetime) -> None:
    """Refresh the ticket's summary row: policy, overall state, soonest due of a running clock."""
    result = evaluate_ticket(ticket_id, now)
    policy, state, due = "", "", None
    if result is not None:
        policy = result.policy.name if result.policy is not None else ""
        running = [c for c in result.clocks if c.stop is None and c.state in RUNNING]
        dues = [c.due for c in running if c.due is not None]
        due = dt.datetime.fromtimestamp(min(dues), dt.UTC) if dues else None
        states = {c.state for c in result.clocks if c.stop is None}
        state = next((s for s in ("breached", "active", "paused") if s in states), "")
        if not state and result.clocks:
            state = "done"
    SlaTicket.objects.filter(pk=ticket_id).update(
        policy=policy, state=state, next_due=due, evaluated=now
    )


# -- advancing -------------------------------------------------------------------------------


def release_held(now: dt.datetime, settings: conf.Settings) -> int:
    """``created`` events whose opening follow-up never came: opened by ``OPENED_BY``."""
    cutoff = now - dt.timedelta(seconds=settings.opening_grace)
    released = 0
    for event in SlaEvent.objects.filter(held=True, recorded__lte=cutoff):
        with transaction.atomic():
            event.payload = {"author": settings.opened_by, **event.payload}
            event.held = False
            event.save(update_fields=["payload", "held"])
        released += 1
    return released


def pump(engine: LiveEngine, now: dt.datetime, settings: conf.Settings) -> tuple[int, int]:
    """Move recorded events into the live store; (accepted, rejected).

    An event is marked ingested only after the store committed it; a crash in
    between stores it again, and its id makes the copy harmless.
    """
    release_held(now, settings)
    accepted = rejected = 0
    while True:
        batch = list(
            SlaEvent.objects.filter(ingested=False, held=False).order_by("at", "id")[:BATCH]
        )
        if not batch:
            break
        report = engine.ingest(
            [(f"{ORIGIN}:{e.ticket_id}:{e.event_id}", e.payload, None) for e in batch], now
        )
        for reject in report.rejected:
            _log.warning("event rejected", origin=reject.origin, problem=reject.problem)
        SlaEvent.objects.filter(pk__in=[e.pk for e in batch]).update(ingested=True)
        accepted += report.accepted
        rejected += len(report.rejected)
    return accepted, rejected


def advance(now: dt.datetime, settings: conf.Settings | None = None) -> AdvanceResult:
    """Ingest new events, queue what fell due by ``now``, deliver the outbox."""
    settings = settings or conf.load()
    loaded = runtime(settings)
    with open_store(settings) as store:
        engine = LiveEngine(loaded.policies, store, recipients=loaded.routing.recipients)
        accepted, rejected = pump(engine, now, settings)
        report = engine.advance(now)
        dispatched = Dispatcher(store, loaded.routing.deliverers).dispatch(epoch(now))
    for problem in report.problems:
        _log.error("ticket could not be evaluated", problem=problem)
    for ticket in {n.ticket for n in report.notifications}:
        if ticket.isdigit():
            summarize(int(ticket), now)
    return AdvanceResult(
        accepted, rejected, report.evaluated, report.notifications, dispatched, report.problems
    )


__all__ = [
    "AdvanceResult",
    "Routing",
    "Runtime",
    "advance",
    "epoch",
    "evaluate_ticket",
    "open_store",
    "pump",
    "recorded_events",
    "runtime",
    "status",
    "summarize",
]
