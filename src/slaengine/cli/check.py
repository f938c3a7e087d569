"""``slaengine check``: report every problem of policy files, compiler style."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from slaengine.cli._options import read_command_policies


def register(commands: Any) -> None:
    """Add the ``check`` subcommand."""
    parser = commands.add_parser(
        "check",
        help="validate policy files",
        description="Report every problem of the given policy files or directories as "
        "file:line:col: CODE message. Exit 0 when clean, 1 when problems were found.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="policy file or directory")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the files; print problems to stdout and a summary to stderr."""
    policy_set, problems = read_command_policies(args.paths)
    for problem in problems:
        print(problem)
    errors = sum(1 for p in problems if not p.is_warning)
    warnings = len(problems) - errors
    if policy_set is not None and not errors:
        files = len(policy_set.sources)
        summary = (
            f"ok: {_count(len(policy_set.policies), 'policy')}, "
            f"{_count(len(policy_set.calendars), 'calendar')} in {_count(files, 'file')}"
        )
        print(summary + (f" ({_count(warnings, 'warning')})" if warnings else ""), file=sys.stderr)
        return 0
    print(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}", file=sys.stderr)
    return 1


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"
