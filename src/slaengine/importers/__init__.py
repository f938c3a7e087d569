"""Importers: real support data from other systems mapped to canonical ticket events.

Each source kind is one module with a pure, streaming mapping from its rows to
event dicts (docs/events.md); :data:`IMPORTERS` names them. A later plugin
system adds kinds by wrapping :class:`Importer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slaengine.importers.base import (
    Event,
    Importer,
    ImportFormatError,
    ImportOptions,
    ImportReport,
    Skip,
)

if TYPE_CHECKING:
    #: The bundled importers by name (made when first read: a command that imports
    #: nothing, which loads the plugin hooks and so this package, never pays for them).
    IMPORTERS: dict[str, Importer]


def _bundled() -> dict[str, Importer]:
    from slaengine.importers import freshdesk, servicenow, tablecsv, twitter, volvo, zendesk

    return {
        importer.name: importer
        for importer in (
            Importer(
                "csv",
                "any help desk's CSV export, read through a column mapping (--mapping FILE)",
                tablecsv.events,
            ),
            Importer(
                "freshdesk",
                "Freshdesk API v2 JSON: tickets (with stats), conversations, satisfaction ratings",
                freshdesk.events,
            ),
            Importer(
                "servicenow",
                "ServiceNow incident audit log (CSV, one row per incident update)",
                servicenow.events,
            ),
            Importer(
                "twitter",
                "Twitter customer care: IBM CDP conversations (.json) or TWCS tweets (.csv)",
                twitter.events,
            ),
            Importer(
                "volvo",
                "Volvo IT incident log, BPI Challenge 2013 (VINST CSV, one row per status change)",
                volvo.events,
            ),
            Importer(
                "zendesk",
                "Zendesk API JSON: incremental ticket export with ticket audits or ticket events",
                zendesk.events,
            ),
        )
    }


def __getattr__(name: str) -> Any:
    # IMPORTERS, made once when first read.
    if name != "IMPORTERS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    importers = globals()["IMPORTERS"] = _bundled()
    return importers


__all__ = [
    "IMPORTERS",
    "Event",
    "ImportFormatError",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "Skip",
]
