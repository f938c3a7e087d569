"""``slaengine plugins``: what plugins are loaded, their versions, hooks and contributions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.table import Table

from slaengine.cli._options import command_plugins, use_config
from slaengine.report.terminal import terminal_console


def register(commands: Any) -> None:
    """Add the ``plugins`` subcommand."""
    parser = commands.add_parser(
        "plugins",
        help="list loaded plugins",
        description="List the loaded plugins (built-in, entry points of the 'slaengine' group), "
        "their versions and hooks, what they contribute, and any that failed. "
        "SLAENGINE_PLUGINS and SLAENGINE_DISABLE_PLUGINS allow or block entry points by name.",
    )
    parser.add_argument("--json", action="store_true", help="print the listing as JSON")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file handed to the plugins (default: $SLAENGINE_CONFIG, ./slaengine.toml)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the plugins; exit 1 when a plugin failed to load or register."""
    use_config(args.config)
    plugins = command_plugins()
    infos = plugins.describe()
    importers = plugins.importers()
    calendars = plugins.calendars()
    notifiers = plugins.notifiers()
    sources = plugins.sources()
    conditions = plugins.conditions()
    inboxes = plugins.inboxes()
    performers = plugins.performers()
    if args.json:
        doc = {
            "plugins": [
                {"name": i.name, "origin": i.origin, "version": i.version, "hooks": list(i.hooks)}
                for i in infos
            ],
            "importers": sorted(importers),
            "calendars": sorted(calendars),
            "notifiers": sorted(notifiers),
            "sources": sorted(sources),
            "conditions": sorted(conditions),
            "inboxes": sorted(inboxes),
            "action_performers": sorted(performers),
            "failures": [
                {"plugin": f.plugin, "hook": f.hook, "error": f.error} for f in plugins.failures
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        table = Table(title="Plugins", header_style="bold", title_justify="left")
        for column in ("Name", "Origin", "Version", "Hooks"):
            table.add_column(column)
        for info in infos:
            table.add_row(info.name, info.origin, info.version or "-", "\n".join(info.hooks))
        console = terminal_console(file_width=120)
        console.print(table)
        console.print(f"importers: {', '.join(sorted(importers)) or '-'}")
        console.print(f"calendars: {', '.join(sorted(calendars)) or '-'}")
        console.print(f"notify targets: {', '.join(sorted(notifiers)) or '-'}")
        console.print(f"event sources: {', '.join(sorted(sources)) or '-'}")
        console.print(f"match conditions: {', '.join(sorted(conditions)) or '-'}")
        console.print(f"inboxes: {', '.join(sorted(inboxes)) or '-'}")
        console.print(f"action performers: {', '.join(sorted(performers)) or '-'}")
        for failure in plugins.failures:
            where = f" in {failure.hook}" if failure.hook else " while loading"
            console.print(f"failed: {failure.plugin}{where}: {failure.error}", style="red")
    return 1 if plugins.failures else 0
