"""``slaengine schema``: print the JSON Schema of the policy format, for editors."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from slaengine.policy.schema import schema_json


def register(commands: Any) -> None:
    """Add the ``schema`` subcommand."""
    parser = commands.add_parser(
        "schema",
        help="print the policy JSON Schema",
        description="Print the JSON Schema (draft 2020-12) of policy files, for editor "
        "completion and validation. See docs/policies.md, 'Editor support'.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the schema to stdout."""
    del args
    sys.stdout.write(schema_json())
    return 0
