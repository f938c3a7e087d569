"""``slaengine generate``: write realistic synthetic ticket timelines, for demos and benchmarks."""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import sys
from typing import Any

from slaengine.cli._options import option_instant
from slaengine.errors import UserError
from slaengine.inputs.synthetic import generate_lines


def register(commands: Any) -> None:
    """Add the ``generate`` subcommand."""
    parser = commands.add_parser(
        "generate",
        help="write synthetic ticket events",
        description="Write realistic synthetic ticket timelines as JSON Lines: a channel mix, "
        "business-hours arrivals, reply delays, pauses, reopens, priority changes and CSAT. "
        "The same arguments always give the same events.",
    )
    parser.add_argument("--tickets", "-n", type=int, default=1000, help="how many tickets")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--start",
        default="2025-09-01T00:00:00Z",
        metavar="ISO",
        help="first creation instant (default 2025-09-01T00:00:00Z)",
    )
    parser.add_argument("--days", type=int, default=90, help="days over which tickets arrive")
    parser.add_argument(
        "--output",
        "-o",
        default="-",
        metavar="FILE",
        help="output file ('.gz' compresses; default stdout)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the events."""
    if args.tickets < 0 or args.days < 1:
        raise UserError("--tickets must be 0 or more and --days at least 1")
    start = dt.datetime.fromtimestamp(option_instant(args.start, "--start"), dt.UTC)
    lines = generate_lines(args.tickets, args.seed, start, args.days)
    if args.output == "-":
        sys.stdout.writelines(lines)
    elif args.output.endswith(".gz"):
        with gzip.open(args.output, "wt", encoding="utf-8") as compressed:
            compressed.writelines(lines)
    else:
        with open(args.output, "w", encoding="utf-8") as plain:
            plain.writelines(lines)
    return 0
