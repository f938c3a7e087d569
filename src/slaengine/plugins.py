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

import importlib.metadata
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pluggy
import structlog

from slaengine import __version__, builtin_plugins, hookspecs
from slaengine.calendar import BusinessCalendar
from slaengine.hookspecs import Deliver
from slaengine.importers.base import Importer
from slaengine.notifications import ACHIEVEMENT, BREACH, ESCALATION, WARNING, Notification
from slaengine.sources import EventSource
from slaengine.timeline import TicketState

ENTRY_POINT_GROUP = "slaengine"
ENV_ALLOW = "SLAENGINE_PLUGINS"
ENV_BLOCK = "SLAENGINE_DISABLE_PLUGINS"
ENV_TRACE = "SLAENGINE_TRACE_HOOKS"
BUILTIN = "slaengine.builtin"

_log = structlog.get_logger("slaengine.plugins")


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
}
Condition = Callable[[TicketState], bool]


def _names(value: str | None) -> set[str]:
    return {name.strip() for name in (value or "").split(",") if name.strip()}


@dataclass
class Plugins:
    """The plugins of one process, with typed access to what they contribute."""

    manager: pluggy.PluginManager
    trace: bool = False
    failures: list[PluginFailure] = field(default_factory=list)
    _origins: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    _importers: dict[str, Importer] | None = None
    _calendars: dict[str, BusinessCalendar] | None = None
    _notifiers: dict[str, Notifier] | None = None
    _sources: dict[str, EventSource] | None = None
    _conditions: dict[str, Condition] | None = None

    def register(
        self, plugin: object, name: str, origin: str = "registered", version: str | None = None
    ) -> None:
        """Register a plugin object (a module or an instance with ``@hookimpl`` methods)."""
        self.manager.register(plugin, name=name)
        self._origins[name] = (origin, version)
        # Contributions change with the plugins.
        self._importers = self._calendars = self._notifiers = None
        self._sources = self._conditions = None

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

        ``call(function, plugin_name)`` runs one implementation.
        """
        caller = getattr(self.manager.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order: built-ins first
            if self.trace:
                _log.info("hook call", hook=hook_name, plugin=impl.plugin_name)
            try:
                call(impl.function, impl.plugin_name)
            except Exception as exc:  # a plugin's error must not stop the others
                _log.error(
                    "plugin hook failed", plugin=impl.plugin_name, hook=hook_name, error=repr(exc)
                )
                self.failures.append(PluginFailure(impl.plugin_name, hook_name, repr(exc)))

    def configure(self, config: Mapping[str, Any]) -> None:
        """Hand every plugin the run's settings (``slaengine_configure``)."""
        frozen = MappingProxyType(dict(config))
        self._each("slaengine_configure", lambda impl, _: impl(config=frozen))
        self._notifiers = self._sources = self._conditions = None

    def importers(self) -> dict[str, Importer]:
        """Importers by name, from ``slaengine_register_importers``."""
        if self._importers is None:
            found: dict[str, Importer] = {}

            def register(importer: Importer) -> None:
                if importer.name in found:
                    _log.warning(
                        "importer already registered; later one ignored", name=importer.name
                    )
                    return
                found[importer.name] = importer

            self._each("slaengine_register_importers", lambda impl, _: impl(register=register))
            self._importers = found
        return self._importers

    def calendars(self) -> dict[str, BusinessCalendar]:
        """Named calendars, from ``slaengine_register_calendars``."""
        if self._calendars is None:
            found: dict[str, BusinessCalendar] = {}

            def register(name: str, calendar: BusinessCalendar) -> None:
                if not isinstance(calendar, BusinessCalendar):
                    raise TypeError(f"calendar {name!r} is not a BusinessCalendar")
                if name in found:
                    _log.warning("calendar already registered; later one ignored", name=name)
                    return
                found[name] = calendar

            self._each("slaengine_register_calendars", lambda impl, _: impl(register=register))
            self._calendars = found
        return self._calendars

    def notifiers(self) -> dict[str, Notifier]:
        """Notify targets by name, from ``slaengine_register_notifiers``."""
        if self._notifiers is None:
            found: dict[str, Notifier] = {}

            def collect(impl: Callable[..., Any], plugin: str) -> None:
                def register(name: str, description: str = "", deliver: Deliver | None = None):  # type: ignore[no-untyped-def]
                    if not isinstance(name, str) or not name:
                        raise TypeError(f"a notify target needs a name, got {name!r}")
                    if deliver is not None and not callable(deliver):
                        raise TypeError(f"notify target {name!r}: deliver is not callable")
                    if name in found:
                        _log.warning(
                            "notify target already registered; later one ignored",
                            name=name,
                            plugin=plugin,
                        )
                        return
                    found[name] = Notifier(name, description, plugin, deliver)

                impl(register=register)

            self._each("slaengine_register_notifiers", collect)
            self._notifiers = found
        return self._notifiers

    def sources(self) -> dict[str, EventSource]:
        """Event sources by name, from ``slaengine_register_sources``."""
        if self._sources is None:
            found: dict[str, EventSource] = {}

            def register(source: EventSource) -> None:
                if not isinstance(source, EventSource):
                    raise TypeError(f"{source!r} has no name and read(cursor, limit)")
                if source.name in found:
                    _log.warning("source already registered; later one ignored", name=source.name)
                    return
                found[source.name] = source

            self._each("slaengine_register_sources", lambda impl, _: impl(register=register))
            self._sources = found
        return self._sources

    def conditions(self) -> dict[str, Condition]:
        """Named match conditions, from ``slaengine_register_conditions``."""
        if self._conditions is None:
            found: dict[str, Condition] = {}

            def register(name: str, predicate: Condition) -> None:
                if not callable(predicate):
                    raise TypeError(f"condition {name!r} is not callable")
                if name in found:
                    _log.warning("condition already registered; later one ignored", name=name)
                    return
                found[name] = predicate

            self._each("slaengine_register_conditions", lambda impl, _: impl(register=register))
            self._conditions = found
        return self._conditions

    def subscribers(self, kind: str) -> list[Subscriber]:
        """The plugins whose ``slaengine_on_*`` hook receives notifications of ``kind``."""
        hook = ON_HOOKS[kind]
        caller = getattr(self.manager.hook, hook)
        result = []
        for impl in caller.get_hookimpls():
            function = impl.function

            def call(notification: Notification, function: Callable[..., Any] = function) -> None:
                function(notification=notification)

            result.append(Subscriber(impl.plugin_name, hook, call))
        return result


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
    result = Plugins(manager, trace=env.get(ENV_TRACE, "") not in ("", "0"))
    result.register(builtin_plugins, BUILTIN, origin="builtin", version=__version__)
    if entry_points:
        _load_entry_points(result, _names(env.get(ENV_ALLOW)), _names(env.get(ENV_BLOCK)))
    for name, plugin in plugins:
        result.register(plugin, name)
    return result


def _load_entry_points(plugins: Plugins, allow: set[str], block: set[str]) -> None:
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in block or (allow and entry.name not in allow):
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
        except Exception as exc:  # a broken plugin must not stop the others
            _log.error("plugin failed to load", plugin=entry.name, error=repr(exc))
            plugins.failures.append(PluginFailure(entry.name, None, repr(exc)))


__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "ENV_ALLOW",
    "ENV_BLOCK",
    "ENV_TRACE",
    "ON_HOOKS",
    "Notifier",
    "PluginFailure",
    "PluginInfo",
    "Plugins",
    "Subscriber",
    "make_plugins",
]
