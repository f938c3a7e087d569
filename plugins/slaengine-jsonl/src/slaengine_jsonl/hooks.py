"""slaengine hooks of the jsonl plugin: sources from the configuration, registered for ``run``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.hookspecs import RegisterSource, hookimpl
from slaengine.logs import get_logger
from slaengine_jsonl.config import PLUGIN, SourceSettings, load_sources
from slaengine_jsonl.reader import JsonlSource

_log = get_logger("slaengine_jsonl")

# The sources of the last ``slaengine_configure``. The entry point loads this
# module, so its state is shared by every plugin manager of the process; each
# configure replaces it whole.
_sources: list[SourceSettings] = []


@hookimpl
def slaengine_configure(config: Mapping[str, Any]) -> None:
    """Read ``[plugins.jsonl.sources.*]``; a source with a mistake is logged and skipped."""
    loaded = load_sources(config)
    for source, problem in loaded.problems:
        if source is None:
            _log.error("jsonl configuration problem", plugin=PLUGIN, problem=problem)
        else:
            _log.error("jsonl source skipped", plugin=PLUGIN, source=source, problem=problem)
    for settings in loaded.sources:
        if not settings.path.exists():
            _log.warning(
                "jsonl source path does not exist yet; it is read once it appears",
                plugin=PLUGIN,
                source=settings.name,
                path=str(settings.path),
            )
    _sources[:] = loaded.sources


@hookimpl
def slaengine_register_sources(register: RegisterSource) -> None:
    """One :class:`~slaengine_jsonl.reader.JsonlSource` per configured source."""
    for settings in _sources:
        register(JsonlSource(settings.name, settings.path, settings.pattern))
