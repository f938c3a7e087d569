"""The hooks slaengine implements itself, registered like any plugin's."""

from __future__ import annotations

from slaengine.hookspecs import RegisterImporter, hookimpl
from slaengine.importers import IMPORTERS


@hookimpl
def slaengine_register_importers(register: RegisterImporter) -> None:
    """The bundled importers (twitter, servicenow, volvo)."""
    for importer in IMPORTERS.values():
        register(importer)
