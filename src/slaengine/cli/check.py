"""``slaengine check``: report every problem of policy files, compiler style."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from slaengine.cli._options import (
    add_config,
    plugin_notifiers,
    read_command_policies,
    settings_file,
)
from slaengine.words import plural

#: What ``slaengine check`` checks without a path, like ``fmt`` and ``test``.
DEFAULT = "policies/"
# The problem code of a notify target no plugin registered.
UNKNOWN_TARGET = "E305"


def register(commands: Any) -> None:
    """Add the ``check`` subcommand."""
    parser = commands.add_parser(
        "check",
        help="validate policy files",
        description="Report every problem of the given policy files or directories as "
        "file:line:col: CODE message. Exit 0 when clean, 1 when problems were found, "
        "2 on usage errors.",
    )
    # Without a path it checks policies/, as fmt and test do.
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help=f"policy file or directory (default: {DEFAULT})"
    )
    add_config(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the files; print problems to stdout and a summary to stderr."""
    policy_set, problems = read_command_policies(args.paths or [DEFAULT])
    for problem in problems:
        print(problem)
    if any(problem.code == UNKNOWN_TARGET for problem in problems):
        print(_targets_note(), file=sys.stderr)
    errors = sum(1 for p in problems if not p.is_warning)
    warnings = len(problems) - errors
    if policy_set is not None and not errors:
        files = len(policy_set.sources)
        # Agreements and metrics defined in the files and measured by a policy or an
        # agreement: said only where there are some, so other summaries stay as they were.
        agreements = len(policy_set.agreements)
        owners = (*policy_set.policies, *(a.policy for a in policy_set.agreements))
        defined = {m.kind for p in owners for m in p.metrics if not m.definition.builtin}
        measured = f", {_count(len(defined), 'defined metric')}" if defined else ""
        summary = (
            f"ok: {_count(len(policy_set.policies), 'policy')}, "
            + (f"{_count(agreements, 'agreement')}, " if agreements else "")
            + f"{_count(len(policy_set.calendars), 'calendar')}{measured} in "
            + _count(files, "file")
        )
        print(summary + (f" ({_count(warnings, 'warning')})" if warnings else ""), file=sys.stderr)
        return 0
    print(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}", file=sys.stderr)
    return 1


def _targets_note() -> str:
    """Where notify targets come from, so an unknown one is not a mystery.

    Notifier plugins register targets from the settings file (the webhook
    plugin's ``[plugins.webhook.targets.*]``), so which names are known
    depends on the file read: ``--config``, else $SLAENGINE_CONFIG, else
    ``./slaengine.toml`` when the current directory has one.
    """
    known = sorted(plugin_notifiers())
    names = ", ".join(known) if known else "none"
    found = settings_file()
    where = (
        f"settings file {found}"
        if found is not None
        else "no settings file (none given with --config or SLAENGINE_CONFIG, "
        "and no slaengine.toml in the current directory)"
    )
    return (
        "note: notify targets come from plugins configured by the settings file; "
        f"read {where}; known targets: {names}"
    )


def _count(n: int, noun: str) -> str:
    return plural(n, noun)
