"""Hook specifications: the only place slaengine's plugin hooks are declared.

Plugins implement them with :data:`hookimpl` (``@hookimpl def slaengine_...``)
and are found through the ``slaengine`` entry-point group or registered
explicitly (see :mod:`slaengine.plugins`). Every hook is documented in
docs/hooks.md; a test fails when one is not.

Kinds, by verb: ``slaengine_configure`` hands plugins their settings;
``slaengine_register_*`` contribute things through a registrar callable and
return nothing; ``slaengine_on_*`` receive broadcasts: notifications (warning,
breach, escalation, achieved, spike), each delivered once per plugin through the
live engine's outbox, on a dispatcher thread of that plugin's own, and the
worker's start and stop.

pluggy passes an implementation only the arguments it declares; one naming an
argument its hook does not pass is refused when it registers. An exception in
any hook is logged and recorded for its plugin only (docs/hooks.md, "How hooks
are called").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pluggy

from slaengine.calendar import BusinessCalendar
from slaengine.importers.base import Importer
from slaengine.inbox import Inbox
from slaengine.notifications import Notification
from slaengine.sources import EventSource
from slaengine.timeline import TicketState

PROJECT = "slaengine"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

RegisterImporter = Callable[[Importer], None]
RegisterCalendar = Callable[[str, BusinessCalendar], None]
RegisterSource = Callable[[EventSource], None]
RegisterCondition = Callable[[str, Callable[[TicketState], bool]], None]
RegisterInbox = Callable[[Inbox], None]
Deliver = Callable[[Notification], None]


class RegisterNotifier(Protocol):
    """The registrar ``slaengine_register_notifiers`` receives."""

    def __call__(self, name: str, description: str = "", deliver: Deliver | None = None) -> None:
        """Register notify target ``name``; ``deliver(notification)`` sends to it."""


@hookspec
def slaengine_configure(config: Mapping[str, Any]) -> None:
    """Hand every plugin the settings of this run, before anything is registered.

    Fires once per plugin manager, when a command (or a host) calls
    ``Plugins.configure(config)``; ``slaengine run --config FILE`` passes the
    parsed TOML file. Plugins read their own table, ``config["plugins"][NAME]``.

    :param config: the whole configuration mapping (read-only; may be empty).
    :returns: nothing; return values are ignored.
    :raises: anything it raises (``SystemExit`` too) is logged with the plugin's
        name and recorded as a failure; the plugin stays registered and the
        others are configured.
    """


@hookspec
def slaengine_register_importers(register: RegisterImporter) -> None:
    """Contribute importers: source kinds that ``slaengine import KIND PATH`` converts.

    Fires once when the plugin manager's importers are first asked for (by the
    ``import`` command, or ``Plugins.importers()`` in an embedding host).

    :param register: call ``register(Importer(name, description, events))`` once per
        kind; ``events(path, options)`` yields canonical event dicts lazily.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged with the plugin's name and the plugin's
        contributions are skipped (also those registered before it raised); other
        plugins still register theirs. A name that is already registered is
        reported and the later one ignored.
    """


@hookspec
def slaengine_register_calendars(register: RegisterCalendar) -> None:
    """Contribute named business calendars that policies can use by name.

    Fires once when policies are loaded by a command (``check``, ``evaluate``,
    ``audit`` ...). A policy's ``calendar: NAME`` resolves to a calendar of its
    own files first, then to one registered here.

    :param register: call ``register(name, calendar)`` with a
        :class:`slaengine.BusinessCalendar` (e.g. :class:`slaengine.WeeklyCalendar`).
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's calendars are skipped.
    """


@hookspec
def slaengine_register_notifiers(register: RegisterNotifier) -> None:
    """Contribute notify targets: the names a policy's ``notify: [...]`` may use.

    Fires once when policies are loaded by a command. A name no plugin
    registers is reported by ``slaengine check`` as ``E305`` with its line and
    column, so a warning or escalation cannot silently go nowhere.

    :param register: call ``register(name, description, deliver)`` once per
        target the plugin can deliver to (e.g. ``"team-lead"``, "Slack
        #support-leads"). ``deliver(notification)`` sends one
        :class:`~slaengine.notifications.Notification` and returns when the
        receiver has accepted it; it raises on failure, and the live engine
        retries later with backoff. Use ``notification.key`` as the idempotency
        key: after a crash between sending and recording, the same notification
        is sent again with the same key. Without ``deliver`` the name is only
        known (``check`` accepts it) and the live engine cannot send to it.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's targets are skipped.
        A name registered twice keeps the first registration.
    """


class RegisterPerformer(Protocol):
    """The registrar ``slaengine_register_actions`` receives."""

    def __call__(self, name: str, perform: Deliver, description: str = "") -> None:
        """Register performer ``name``; ``perform(notification)`` acts on the ticket."""


@hookspec
def slaengine_register_actions(register: RegisterPerformer) -> None:
    """Contribute a performer of ticket actions: write-back into a helpdesk.

    A policy's warning or escalation may list ``actions`` beside ``notify``
    (raise the priority, reassign, tag, add an internal note). When such a
    point is reached, the live engine queues the notification, with its
    ``actions``, for every registered performer; each gets its own outbox row.

    Fires once when the live engine's routing is built (``Plugins.performers()``).

    :param register: call ``register(name, perform, description)``.
        ``perform(notification)`` carries out ``notification.actions`` on the
        ticket ``notification.ticket`` in the plugin's helpdesk and returns when
        done; it raises on failure and is retried with backoff. After a crash
        it may be called again with the same ``notification.key``: record the
        key in the same transaction as the change so an action happens once.
        An action type the helpdesk cannot perform is skipped with a log line.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's performers are skipped.
    """


@hookspec
def slaengine_register_inboxes(register: RegisterInbox) -> None:
    """Contribute inbox webhooks: vendors whose payloads ``POST /inbox/{vendor}`` accepts.

    Fires once when ``slaengine serve`` starts (``Plugins.inboxes()``). The
    bundled vendors are registered the same way.

    :param register: call ``register(Inbox(name, description, translate, verify,
        handshake))`` (:mod:`slaengine.inbox`); ``translate(payload)`` turns one
        parsed JSON payload into a :class:`~slaengine.inbox.Delivery` of canonical
        events and raises :class:`~slaengine.inbox.InboxError` when it cannot read
        it; ``verify(body, headers, secret, now)``, for vendors that sign, raises
        :class:`~slaengine.inbox.SignatureError` on a bad signature;
        ``handshake(headers)``, for vendors that check the URL when the webhook
        is saved, returns the JSON body answering that check, else ``None``.
        All three run on a thread of the server's pool, one call per request.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's inboxes are skipped.
        A vendor name registered twice keeps the first.
    """


@hookspec
def slaengine_register_sources(register: RegisterSource) -> None:
    """Contribute event sources that ``slaengine run`` pulls ticket events from.

    Fires once when the worker starts (``Plugins.sources()``), after
    ``slaengine_configure``, so a plugin can build sources from its settings.

    :param register: call ``register(source)`` with an object that has a ``name``
        and ``read(cursor, limit) -> SourceBatch`` (:class:`slaengine.sources.EventSource`).
        A source that reads vendor payloads converts them to canonical events
        (docs/events.md) itself.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's sources are skipped.
        A source name registered twice keeps the first.
    """


@hookspec
def slaengine_register_conditions(register: RegisterCondition) -> None:
    """Contribute named match conditions, for a policy's ``match: {conditions: [NAME]}``.

    Fires once when policies are loaded by a command. ``check`` reports a name
    no plugin registered with its line and column.

    :param register: call ``register(name, predicate)``; ``predicate(ticket)``
        receives a :class:`slaengine.timeline.TicketState` and returns whether the
        ticket qualifies. It must be a pure, fast function of the ticket; a
        predicate that raises counts as not holding.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's conditions are skipped.
    """


@hookspec
def slaengine_on_warning(notification: Notification) -> None:
    """A clock reached one of its warning points (``warn_at``).

    Fires from the live engine's dispatcher, once per notification for each
    plugin implementing it, possibly after the instant (``notification.at``)
    when the worker was down or behind. Delivery goes through the outbox: if
    the implementation raises, only this plugin's delivery is retried with
    backoff, and after a crash it may be called again with the same
    ``notification.key``.

    :param notification: kind ``"warning"``; ``level`` counts from 1.
    :returns: nothing; return values are ignored.
    :raises: anything (``SystemExit`` too); logged, shown by ``slaengine outbox``, retried.
    """


@hookspec
def slaengine_on_breach(notification: Notification) -> None:
    """A clock's elapsed business time went over its target.

    Fires like :func:`slaengine_on_warning` (once per plugin, through the
    outbox, retried when it raises).

    :param notification: kind ``"breach"``, ``level`` 0, ``at`` = ``due``.
    :returns: nothing; return values are ignored.
    :raises: anything (``SystemExit`` too); logged, shown by ``slaengine outbox``, retried.
    """


@hookspec
def slaengine_on_escalation(notification: Notification) -> None:
    """A breached clock reached one of its escalation levels (``escalations``).

    Fires like :func:`slaengine_on_warning` (once per plugin, through the
    outbox, retried when it raises).

    :param notification: kind ``"escalation"``; ``level`` counts from 1.
    :returns: nothing; return values are ignored.
    :raises: anything (``SystemExit`` too); logged, shown by ``slaengine outbox``, retried.
    """


@hookspec
def slaengine_on_achieved(notification: Notification) -> None:
    """A clock stopped within its target (a response given, a ticket solved in time).

    Fires like :func:`slaengine_on_warning` (once per plugin, through the
    outbox, retried when it raises).

    :param notification: kind ``"achieved"``, ``level`` 0, ``at`` = the stop.
    :returns: nothing; return values are ignored.
    :raises: anything (``SystemExit`` too); logged, shown by ``slaengine outbox``, retried.
    """


@hookspec
def slaengine_on_spike(notification: Notification) -> None:
    """A channel's volume surged: a policy file's spike rule found a spike starting.

    Fires like :func:`slaengine_on_warning` (once per plugin, through the
    outbox, retried when it raises), once per spike: it is not repeated while
    the spike lasts, and a later surge after it ended is a new spike.

    :param notification: kind ``"spike"``, ``ticket`` empty, ``policy`` the spike
        rule's name, ``metric`` its measure (``new_tickets`` or
        ``customer_messages``), ``channel``, ``count`` in the window,
        ``expected`` from the baseline, ``at`` when it was found.
    :returns: nothing; return values are ignored.
    :raises: anything (``SystemExit`` too); logged, shown by ``slaengine outbox``, retried.
    """


@hookspec
def slaengine_on_worker_start() -> None:
    """The live worker starts serving: start what runs beside it (a digest sender, say).

    Fires once when ``slaengine run``'s worker loop starts (on its thread, before
    the first cycle) and once when ``slaengine serve`` starts its worker thread
    (for the thread's life: its restarts after an error do not fire it again);
    in a host, when ``Worker(..., plugins=plugins).run()`` starts. Always after
    ``slaengine_configure`` and the sources. Commands that only load plugins
    (``slaengine plugins``, ``check``) never call it.

    :returns: nothing; return values are ignored.
    :raises: anything it raises (``SystemExit`` too) is logged and recorded for the
        plugin; the worker starts all the same.
    """


@hookspec
def slaengine_on_worker_stop() -> None:
    """The live worker stopped serving: stop what the start hook started.

    Fires once for each start, on the same thread, when the worker has stopped
    (a clean stop, ``--once`` done, or an error that ends ``run``'s loop), after
    the deliveries under way were recorded or left for the restart. Return
    promptly: the process is stopping.

    :returns: nothing; return values are ignored.
    :raises: anything it raises (``SystemExit`` too) is logged and recorded for the
        plugin; the others are called and the worker stops all the same.
    """


__all__ = [
    "PROJECT",
    "Deliver",
    "RegisterCalendar",
    "RegisterCondition",
    "RegisterImporter",
    "RegisterInbox",
    "RegisterNotifier",
    "RegisterPerformer",
    "RegisterSource",
    "hookimpl",
    "hookspec",
    "slaengine_configure",
    "slaengine_on_achieved",
    "slaengine_on_breach",
    "slaengine_on_escalation",
    "slaengine_on_spike",
    "slaengine_on_warning",
    "slaengine_on_worker_start",
    "slaengine_on_worker_stop",
    "slaengine_register_actions",
    "slaengine_register_calendars",
    "slaengine_register_conditions",
    "slaengine_register_importers",
    "slaengine_register_inboxes",
    "slaengine_register_notifiers",
    "slaengine_register_sources",
]
