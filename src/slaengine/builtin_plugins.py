"""The hooks slaengine implements itself, registered like any plugin's."""

from __future__ import annotations

from slaengine.hookspecs import RegisterImporter, RegisterInbox, hookimpl
from slaengine.importers import IMPORTERS
from slaengine.inbox import chatwoot, freshdesk, front, intercom, zendesk


@hookimpl
def slaengine_register_importers(register: RegisterImporter) -> None:
    """The bundled importers (twitter, servicenow, volvo)."""
    for importer in IMPORTERS.values():
        register(importer)


@hookimpl
def slaengine_register_inboxes(register: RegisterInbox) -> None:
    """The bundled inbox webhooks (``POST /inbox/{vendor}``)."""
    for module in (chatwoot, zendesk, freshdesk, intercom, front):
        register(module.INBOX)
