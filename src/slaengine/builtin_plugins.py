"""The hooks slaengine implements itself, registered like any plugin's."""

from __future__ import annotations

from slaengine.hookspecs import RegisterImporter, RegisterInbox, hookimpl

# The importers and inboxes are imported when their hook is called, not with the plugin:
# every command loads it, few import or receive webhooks.


@hookimpl
def slaengine_register_importers(register: RegisterImporter) -> None:
    """The bundled importers (twitter, servicenow, volvo)."""
    from slaengine.importers import IMPORTERS

    for importer in IMPORTERS.values():
        register(importer)


@hookimpl
def slaengine_register_inboxes(register: RegisterInbox) -> None:
    """The bundled inbox webhooks (``POST /inbox/{vendor}``)."""
    from slaengine.inbox import chatwoot, freshdesk, front, intercom, zendesk

    for module in (chatwoot, zendesk, freshdesk, intercom, front):
        register(module.INBOX)
