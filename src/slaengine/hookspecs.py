"""Hook specifications: the only place slaengine's plugin hooks are declared.

Plugins implement them with :data:`hookimpl` (``@hookimpl def slaengine_...``)
and are found through the ``slaengine`` entry-point group or registered
explicitly (see :mod:`slaengine.plugins`). Every hook is documented in
docs/hooks.md; a test fails when one is not.

Kinds, by verb: ``slaengine_register_*`` contribute things through a registrar
callable and return nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from slaengine.calendar import BusinessCalendar
from slaengine.importers.base import Importer

PROJECT = "slaengine"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

RegisterImporter = Callable[[Importer], None]
RegisterCalendar = Callable[[str, BusinessCalendar], None]
RegisterNotifier = Callable[[str, str], None]


@hookspec
def slaengine_register_importers(register: RegisterImporter) -> None:
    """Contribute importers: source kinds that ``slaengine import KIND PATH`` converts.

    Fires once when the plugin manager's importers are first asked for (by the
    ``import`` command, or ``Plugins.importers()`` in an embedding host).

    :param register: call ``register(Importer(name, description, events))`` once per
        kind; ``events(path, options)`` yields canonical event dicts lazily.
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged with the plugin's name and the plugin's
        contributions are skipped; other plugins still register theirs. A name that
        is already registered is reported and the later one ignored.
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

    :param register: call ``register(name, description)`` once per target the
        plugin can deliver to (e.g. ``"team-lead"``, "Slack #support-leads").
    :returns: nothing; return values are ignored.
    :raises: anything it raises is logged and that plugin's targets are skipped.
    """


__all__ = [
    "PROJECT",
    "RegisterCalendar",
    "RegisterImporter",
    "RegisterNotifier",
    "hookimpl",
    "hookspec",
    "slaengine_register_calendars",
    "slaengine_register_importers",
    "slaengine_register_notifiers",
]
