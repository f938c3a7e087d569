"""structlog set-up for commands: JSON lines when stderr is not a terminal, readable otherwise.

Importing structlog costs a command about 70 ms of CPU (it imports rich and
asyncio), more than many commands' own work on a small input. So a command that
logs nothing it would show does not import it: :func:`configure_logging` keeps
its settings until structlog is imported (by anyone: they are applied as its
import ends), and a logger from :func:`get_logger` imports structlog only for
an event at or above the level set, while structlog is not imported yet. Once it
is, every event goes to structlog, which filters as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import structlog

# Standard library logging's level numbers (logging itself is imported with structlog).
_DEBUG, _INFO, _WARNING, _ERROR, _CRITICAL = 10, 20, 30, 40, 50
_METHOD_LEVELS = {
    "debug": _DEBUG,
    "info": _INFO,
    "warning": _WARNING,
    "error": _ERROR,
    "exception": _ERROR,
    "critical": _CRITICAL,
}
# The level and renderer configure_logging chose, until structlog is imported.
_pending: dict[str, Any] = {}


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    import structlog

    return structlog.PrintLogger(sys.stderr)


def configure_logging(verbosity: int = 0, json: bool | None = None) -> None:
    """Route structlog output to stderr; ``verbosity`` 0 shows warnings, 1 info, 2 debug."""
    level = {0: _WARNING, 1: _INFO}.get(verbosity, _DEBUG)
    as_json = not sys.stderr.isatty() if json is None else json
    if "structlog" in sys.modules:
        _pending.clear()
        _configure(level, as_json)
        return
    _pending.update(level=level, json=as_json)
    if not any(isinstance(finder, _ConfigureOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigureOnImport())


def _configure(level: int, as_json: bool) -> None:
    import structlog

    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve sys.stderr at each call, not now: it may be replaced later
        # (test capture, a host redirecting output).
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _apply_pending() -> None:
    # The settings kept by configure_logging, now that structlog is imported.
    if _pending:
        level, as_json = _pending.pop("level"), _pending.pop("json")
        _configure(level, as_json)


class _ConfigureOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it wraps structlog's loader so that the settings kept by
    :func:`configure_logging` apply as soon as structlog's import ends, whoever imports it
    and before anything can log through it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "structlog":
            return None
        sys.meta_path.remove(self)
        # Found as it would have been (by the finders after this one), then wrapped.
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Configuring(spec.loader)
        return spec


class _Configuring(importlib.abc.Loader):
    """structlog's own loader, then the kept settings."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        # From now on structlog looks as if imported the usual way.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        _apply_pending()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)  # get_source, resource readers ...


class LazyLogger:
    """A structlog logger for ``name``, imported when an event would be shown.

    While structlog is not imported and :func:`configure_logging` set a level, an
    event below it is dropped here (structlog would drop it too); anything else
    imports structlog and goes to ``structlog.get_logger(name)``.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _log(self, method: str, event: str, **fields: Any) -> Any:
        if "structlog" not in sys.modules and _pending.get("level", 0) > _METHOD_LEVELS[method]:
            return None
        import structlog

        return getattr(structlog.get_logger(self._name), method)(event, **fields)

    def debug(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at debug level."""
        return self._log("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at info level."""
        return self._log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at warning level."""
        return self._log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at error level."""
        return self._log("error", event, **fields)

    def exception(self, event: str, **fields: Any) -> Any:
        """Log ``event`` at error level with the exception being handled."""
        return self._log("exception", event, **fields)

    def bind(self, **fields: Any) -> Any:
        """structlog's logger for ``name`` with ``fields`` bound (structlog is imported)."""
        import structlog

        return structlog.get_logger(self._name).bind(**fields)


def get_logger(name: str) -> LazyLogger:
    """A logger for ``name`` that imports structlog only when it has something to show."""
    return LazyLogger(name)


__all__ = ["LazyLogger", "configure_logging", "get_logger"]
