"""Plugin discovery and a typed facade over pluggy's manager.

There is no module-level manager: :func:`make_plugins` builds one when asked.
The CLI asks; a host that embeds slaengine decides for itself which plugins it
registers. Built-in hooks are registered explicitly; others come from the
``slaengine`` entry-point group, filtered by two environment variables:

- ``SLAENGINE_PLUGINS``: comma-separated entry-point names; only these load.
- ``SLAENGINE_DISABLE_PLUGINS``: comma-separated names that never load.
- ``SLAENGINE_TRACE_HOOKS=1`` logs every hook implementation call.

A plugin that fails to load or raises in a hook is logged and recorded in
:attr:`Plugins.failures`; the others still run.
"""

from __future__ import annotations

import copy
import importlib.metadata
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from slaengine import __version__, builtin_plugins, hookspecs
from slaengine.calendar import BusinessCalendar
from slaengine.config import ReadOnlySettings, locate
from slaengine.errors import UserError
from slaengine.hookspecs import Deliver
from slaengine.importers.base import Importer
from slaengine.inbox import Inbox
from slaengine.logs import get_logger
from slaengine.notifications import ACHIEVEMENT, BREACH, ESCALATION, SPIKE, WARNING, Notification
from slaengine.problems import did_you_mean
from slaengine.sources import EventSource, SourceBatch, SourceRecord
from slaengine.timeline import TicketState

ENTRY_POINT_GROUP = "slaengine"
ENV_ALLOW = "SLAENGINE_PLUGINS"
ENV_BLOCK = "SLAENGINE_DISABLE_PLUGINS"
ENV_TRACE = "SLAENGINE_TRACE_HOOKS"
BUILTIN = "slaengine.builtin"

_log = get_logger("slaengine.plugins")


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A loaded plugin: its name, where it came from, its version and its hooks."""

    name: str
    origin: str  # "builtin", "entry point" or "registered"
    version: str | None
    hooks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """A plugin that could not load, or a hook implementation that raised."""

    plugin: str
    hook: str | None
    error: str


@dataclass(frozen=True, slots=True)
class Notifier:
    """A notify target a plugin registered: its name, the plugin, how to deliver."""

    name: str
    description: str
    plugin: str
    deliver: Deliver | None = None


@dataclass(frozen=True, slots=True)
class Performer:
    """A plugin that performs a policy's ticket actions in its helpdesk."""

    name: str
    description: str
    plugin: str
    perform: Deliver


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A plugin implementing a ``slaengine_on_*`` hook, as one delivery recipient."""

    plugin: str
    hook: str
    call: Callable[[Notification], None]


# The broadcast hook each notification kind fires.
ON_HOOKS = {
    WARNING: "slaengine_on_warning",
    BREACH: "slaengine_on_breach",
    ESCALATION: "slaengine_on_escalation",
    ACHIEVEMENT: "slaengine_on_achieved",
    SPIKE: "slaengine_on_spike",
}
Condition = Callable[[TicketState], bool]


class PluginError(UserError):
    """A plugin that cannot be registered as it is (names the plugin and why)."""


def _names(value: str | None) -> set[str]:
    return {name.strip() for name in (value or "").split(",") if name.strip()}


def _check_hook_names(plugin: object, name: str) -> None:
    """Refuse ``slaengine_*`` attributes that are no hook; warn on unmarked hooks."""
    known = set(_HOOK_NAMES)
    for attribute in dir(plugin):
        if not attribute.startswith("slaengine_") or not callable(getattr(plugin, attribute)):
            continue
        if attribute not in known:
            hint = did_you_mean(attribute, _HOOK_NAMES)
            raise PluginError(
                f"plugin {name!r} defines {attribute}, which is no slaengine hook{hint}"
            )
        options = getattr(getattr(plugin, attribute), hookspecs.PROJECT + "_impl", None)
        if options is None:
            _log.warning(
                "hook function is not marked with @hookimpl and will not be called",
                plugin=name,
                function=attribute,
            )
        else:
            _check_arguments(getattr(plugin, attribute), attribute, name)


def _check_arguments(function: Callable[..., Any], hook: str, plugin: str) -> None:
    """Refuse an implementation naming an argument its hook does not pass, in one line.

    pluggy refuses it too, but with a message of several lines and no hint of the
    misspelt name; arguments with a default value are no hook arguments to pluggy.
    """
    passed = tuple(inspect.signature(getattr(hookspecs, hook)).parameters)
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # no signature to read: leave it to pluggy
        return
    unknown = [
        parameter.name
        for parameter in parameters
        if parameter.default is parameter.empty
        and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and parameter.name not in passed
    ]
    if unknown:
        raise PluginError(
            f"plugin {plugin!r}: {hook} takes {', '.join(unknown)}, which the hook does not "
            f"pass (it passes {', '.join(passed)}){did_you_mean(unknown[0], passed)}"
        )


_HOOK_NAMES = tuple(sorted(n for n in dir(hookspecs) if n.startswith("slaengine_")))


@dataclass
class Plugins:
    """The plugins of one process, with typed access to what they contribute."""

    manager: pluggy.PluginManager
    trace: bool = False
    failures: list[PluginFailure] = field(default_factory=list)
    _origins: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # What the registrar hooks contributed, by hook name; cleared when plugins change.
    _contributions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def register(
        self, plugin: object, name: str, origin: str = "registered", version: str | None = None
    ) -> None:
        """Register a plugin object (a module or an instance with ``@hookimpl`` methods).

        :raises PluginError: the plugin defines a ``slaengine_*`` function that is
            no hook (a misspelling would otherwise never be called), or its
            implementations do not fit their hooks. Nothing is registered then.
        """
        _check_hook_names(plugin, name)
        try:
            self.manager.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {name!r} refused: {exc}") from exc
        self._origins[name] = (origin, version)
        self._contributions.clear()  # contributions change with the plugins

    def describe(self) -> list[PluginInfo]:
        """Every registered plugin with its origin, version and hooks, by name."""
        infos = []
        for name, plugin in self.manager.list_name_plugin():
            hooks = tuple(
                sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or ())
            )
            origin, version = self._origins.get(name, ("registered", None))
            infos.append(PluginInfo(name, origin, version, hooks))
        return sorted(infos, key=lambda info: info.name)

    def _each(self, hook_name: str, call: Callable[[Callable[..., Any], str], None]) -> None:
        """Call every implementation of a hook on its own, so one failure spares the rest.

        ``call(hook, plugin_name)`` runs one implementation: ``hook(**arguments)``
        goes through pluggy, which hands the implementation only the arguments
        it declares (a plugin may declare fewer than the spec names).
        """
        caller = getattr(self.manager.hook, hook_name)
        impls = caller.get_hookimpls()  # registration order: built-ins first
        for impl in impls:
            others = [other.plugin for other in impls if other is not impl]
            one = self.manager.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                call(one, impl.plugin_name)
            # A plugin's error, even its sys.exit(), must not stop the others or the command.
            except (Exception, SystemExit) as exc:
                _log.error(
                    "plugin hook failed", plugin=impl.plugin_name, hook=hook_name, error=repr(exc)
                )
                self.failures.append(PluginFailure(impl.plugin_name, hook_name, repr(exc)))

    def configure(self, config: Mapping[str, Any]) -> None:
        """Hand every plugin the run's settings (``slaengine_configure``).

        Each plugin gets a copy of its own, so one that changes a table changes it
        for no other plugin.
        """
        self._each("slaengine_configure", lambda hook, _: hook(config=_PluginSettings(config)))
        self._contributions.clear()

    def _collect(self, hook_name: str, what: str, make: _Make) -> dict[str, Any]:
        """What every plugin registers through ``hook_name``'s registrar, by name.

        ``make(plugin, *args, **kwargs)`` checks one ``register(...)`` call and
        returns ``(name, thing)``. A name registered twice keeps the first. A
        plugin whose hook raises contributes nothing, not even what it
        registered before raising.
        """
        found = self._contributions.get(hook_name)
        if found is None:
            found = {}

            def collect(hook: Callable[..., Any], plugin: str) -> None:
                mine: dict[str, Any] = {}  # kept only when the whole hook succeeds

                def register(*args: Any, **kwargs: Any) -> None:
                    name, thing = make(plugin, *args, **kwargs)
                    if name in found or name in mine:
                        _log.warning(
                            f"{what} already registered; later one ignored",
                            name=name,
                            plugin=plugin,
                        )
                        return
                    mine[name] = thing

                hook(register=register)
                found.update(mine)

            self._each(hook_name, collect)
            self._contributions[hook_name] = found
        return found

    def importers(self) -> dict[str, Importer]:
        """Importers by name, from ``slaengine_register_importers``."""
        return self._collect("slaengine_register_importers", "importer", _importer)

    def calendars(self) -> dict[str, BusinessCalendar]:
        """Named calendars, from ``slaengine_register_calendars``."""
        return self._collect("slaengine_register_calendars", "calendar", _calendar)

    def notifiers(self) -> dict[str, Notifier]:
        """Notify targets by name, from ``slaengine_register_notifiers``."""
        return self._collect("slaengine_register_notifiers", "notify target", _notifier)

    def left_out_targets(self, config: Mapping[str, Any]) -> dict[str, str]:
        """Why each ``[plugins.P.targets.NAME]`` table of ``config`` that is no notify
        target is missing: plugin ``P`` left it out for a wrong setting, or is not loaded."""
        known = self.notifiers()
        loaded = {name for name, _ in self.manager.list_name_plugin()}
        tables = config.get("plugins")
        found: dict[str, str] = {}
        for plugin, table in tables.items() if isinstance(tables, Mapping) else ():
            targets = table.get("targets") if isinstance(table, Mapping) else None
            for name in targets if isinstance(targets, Mapping) else ():
                if name in known or name in found:
                    continue
                where = locate(config, "plugins", plugin, "targets", name)
                found[name] = f"[plugins.{plugin}.targets.{name}] ({where}) sets it up, but " + (
                    f"the {plugin} plugin left it out because a setting of it is wrong (its "
                    "error, logged when the settings were read, names the setting)"
                    if plugin in loaded
                    else f"no plugin named '{plugin}' is loaded (see 'slaengine plugins')"
                )
        return found

    def performers(self) -> dict[str, Performer]:
        """Ticket action performers by name, from ``slaengine_register_actions``."""
        return self._collect("slaengine_register_actions", "action performer", _performer)

    def sources(self) -> dict[str, EventSource]:
        """Event sources by name, from ``slaengine_register_sources``."""
        return self._collect("slaengine_register_sources", "source", _source)

    def conditions(self) -> dict[str, Condition]:
        """Named match conditions, from ``slaengine_register_conditions``."""
        return self._collect("slaengine_register_conditions", "condition", _condition)

    def inboxes(self) -> dict[str, Inbox]:
        """Inbox webhook translators by vendor name, from ``slaengine_register_inboxes``."""
        return self._collect("slaengine_register_inboxes", "inbox", _inbox)

    def worker_started(self) -> None:
        """Tell every plugin the live worker starts (``slaengine_on_worker_start``)."""
        self._each("slaengine_on_worker_start", lambda hook, _: hook())

    def worker_stopped(self) -> None:
        """Tell every plugin the live worker stopped (``slaengine_on_worker_stop``)."""
        self._each("slaengine_on_worker_stop", lambda hook, _: hook())

    def subscribers(self, kind: str) -> list[Subscriber]:
        """The plugins whose ``slaengine_on_*`` hook receives notifications of ``kind``."""
        hook_name = ON_HOOKS[kind]
        impls = getattr(self.manager.hook, hook_name).get_hookimpls()
        result = []
        for impl in impls:
            others = [other.plugin for other in impls if other is not impl]
            one = self.manager.subset_hook_caller(hook_name, remove_plugins=others)

            def call(notification: Notification, one: Callable[..., Any] = one) -> None:
                one(notification=notification)

            result.append(Subscriber(impl.plugin_name, hook_name, call))
        return result


_Make = Callable[..., tuple[str, Any]]


class _PluginSettings(ReadOnlySettings):
    """The settings one plugin receives: a deep copy, read-only at the top, still knowing
    its file; shown by its tables' names only, so a hook trace logs no secret."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(copy.deepcopy(settings))

    def __repr__(self) -> str:
        return f"<settings: {', '.join(self) or 'empty'}>"


def _importer(plugin: str, importer: Importer) -> tuple[str, Importer]:
    if not isinstance(importer, Importer):
        raise TypeError(f"{importer!r} is not an Importer")
    return importer.name, importer


def _calendar(plugin: str, name: str, calendar: BusinessCalendar) -> tuple[str, BusinessCalendar]:
    if not isinstance(calendar, BusinessCalendar):
        raise TypeError(f"calendar {name!r} is not a BusinessCalendar")
    return name, calendar


def _notifier(
    plugin: str, name: str, description: str = "", deliver: Deliver | None = None
) -> tuple[str, Notifier]:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a notify target needs a name, got {name!r}")
    if deliver is not None and not callable(deliver):
        raise TypeError(f"notify target {name!r}: deliver is not callable")
    return name, Notifier(name, description, plugin, deliver)


def _performer(
    plugin: str, name: str, perform: Deliver, description: str = ""
) -> tuple[str, Performer]:
    if not isinstance(name, str) or not name:
        raise TypeError(f"an action performer needs a name, got {name!r}")
    if not callable(perform):
        raise TypeError(f"action performer {name!r}: perform is not callable")
    return name, Performer(name, description, plugin, perform)


def _source(plugin: str, source: EventSource) -> tuple[str, EventSource]:
    if not isinstance(source, EventSource):
        raise TypeError(f"{source!r} has no name and read(cursor, limit)")
    return source.name, CheckedSource(source)


class CheckedSource:
    """An event source whose ``read`` answers are checked.

    A ``read`` that returns something other than a :class:`SourceBatch` of
    :class:`SourceRecord` with a ``str`` (or ``None``) cursor raises
    :class:`TypeError` naming the source, which the worker logs as that source's
    failure; unchecked, the worker would crash on it. The worker wraps every
    source it is given, a plugin's or a host's.
    """

    def __init__(self, source: EventSource) -> None:
        self.source = source  # the plugin's own object

    @property
    def name(self) -> str:
        """The source's name."""
        return self.source.name

    def read(self, cursor: str | None, limit: int) -> SourceBatch:
        """The plugin source's batch, once checked."""
        batch = self.source.read(cursor, limit)
        if not isinstance(batch, SourceBatch):
            raise TypeError(
                f"source {self.name!r}: read returned {type(batch).__name__}, "
                "expected a slaengine.sources.SourceBatch"
            )
        if batch.cursor is not None and not isinstance(batch.cursor, str):
            raise TypeError(
                f"source {self.name!r}: read returned a cursor of type "
                f"{type(batch.cursor).__name__}, expected a str or None"
            )
        records = tuple(batch.records)  # read once: a generator would be empty the next time
        for record in records:
            if not isinstance(record, SourceRecord):
                raise TypeError(
                    f"source {self.name!r}: read returned a record of type "
                    f"{type(record).__name__}, expected a slaengine.sources.SourceRecord"
                )
        return batch if records is batch.records else SourceBatch(records, batch.cursor)


def _condition(plugin: str, name: str, predicate: Condition) -> tuple[str, Condition]:
    if not callable(predicate):
        raise TypeError(f"condition {name!r} is not callable")
    return name, predicate


def _inbox(plugin: str, inbox: Inbox) -> tuple[str, Inbox]:
    if not isinstance(inbox, Inbox):
        raise TypeError(f"{inbox!r} is not an slaengine.inbox.Inbox")
    return inbox.name, inbox


def make_plugins(
    *,
    entry_points: bool = True,
    plugins: Iterable[tuple[str, object]] = (),
    environ: Mapping[str, str] | None = None,
) -> Plugins:
    """A plugin manager with the built-in hooks, entry-point plugins and ``plugins``.

    ``entry_points=False`` skips discovery (for hosts that register explicitly).
    ``environ`` defaults to ``os.environ`` (allow and block lists, trace switch).
    """
    env = os.environ if environ is None else environ
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    trace = env.get(ENV_TRACE, "") not in ("", "0")
    if trace:  # pluggy's own tracing, written to our log
        manager.trace.root.setwriter(lambda text: _log.info("hook trace", call=text.rstrip()))
        manager.enable_tracing()
    result = Plugins(manager, trace=trace)
    result.register(builtin_plugins, BUILTIN, origin="builtin", version=__version__)
    if entry_points:
        # A variable that is set allows only what it names, even when that is nothing.
        allow = _names(env[ENV_ALLOW]) if ENV_ALLOW in env else None
        _load_entry_points(result, allow, _names(env.get(ENV_BLOCK)))
    for name, plugin in plugins:
        result.register(plugin, name)
    return result


def _load_entry_points(plugins: Plugins, allow: set[str] | None, block: set[str]) -> None:
    entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    installed = sorted({entry.name for entry in entries})
    for variable, names in ((ENV_ALLOW, allow or set()), (ENV_BLOCK, block)):
        for unknown in sorted(names - set(installed)):
            _log.warning(
                f"{variable} names a plugin that is not installed"
                f"{did_you_mean(unknown, installed)}",
                plugin=unknown,
                installed=installed,
            )
    if allow is not None and not allow:
        _log.info(f"{ENV_ALLOW} is set but names no plugin: no plugin is loaded")
    # By name, so which of two plugins registering the same name wins does not depend
    # on the order in which the distributions happen to be installed.
    for entry in sorted(entries, key=lambda entry: entry.name):
        if entry.name in block or (allow is not None and entry.name not in allow):
            _log.info(
                "plugin not loaded",
                plugin=entry.name,
                reason="blocked" if entry.name in block else "not in the allow-list",
            )
            continue
        try:
            plugin = entry.load()
            version = entry.dist.version if entry.dist is not None else None
            plugins.register(plugin, entry.name, origin="entry point", version=version)
        except (Exception, SystemExit) as exc:  # a broken plugin must not stop the others
            _log.error("plugin failed to load", plugin=entry.name, error=str(exc))
            plugins.failures.append(PluginFailure(entry.name, None, str(exc)))


__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "ENV_ALLOW",
    "ENV_BLOCK",
    "ENV_TRACE",
    "ON_HOOKS",
    "CheckedSource",
    "Notifier",
    "Performer",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "Plugins",
    "Subscriber",
    "make_plugins",
]
