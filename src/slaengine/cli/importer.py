"""``slaengine import``: convert another system's export into canonical events."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import sys
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from slaengine.cli._options import command_plugins
from slaengine.errors import UserError
from slaengine.importers import ImportOptions

SHOWN_SKIPS = 20


def register(commands: Any) -> None:
    """Add the ``import`` subcommand."""
    parser = commands.add_parser(
        "import",
        help="convert an export of another system into ticket events",
        description="Read an export of another support system and write canonical ticket "
        "events as JSON Lines. A row that cannot be used is reported with its line and "
        "skipped. See docs/importers.md.",
    )
    parser.add_argument("kind", nargs="?", metavar="KIND", help="source kind (see --list)")
    parser.add_argument("path", nargs="?", metavar="PATH", help="the export file or directory")
    parser.add_argument("--list", action="store_true", help="list the source kinds and exit")
    parser.add_argument(
        "--output",
        "-o",
        default="-",
        metavar="FILE",
        help="output file ('.gz' compresses; default stdout)",
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="IANA zone of source timestamps without a UTC offset (default UTC)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Import, write the events and print a summary to stderr."""
    if args.list:
        for name, known in sorted(command_plugins().importers().items()):
            print(f"{name:<12} {known.description}")
        return 0
    if not args.kind or not args.path:
        raise UserError("import needs KIND and PATH (or --list)")
    importers = command_plugins().importers()
    importer = importers.get(args.kind)
    if importer is None:
        raise UserError(f"unknown kind {args.kind!r}; known: {', '.join(sorted(importers))}")
    path = Path(args.path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    options = ImportOptions(timezone=_zone(args.timezone))
    started = time.perf_counter()
    written = 0
    tickets: set[str] = set()
    with _output(args.output) as out:
        for event in importer.events(path, options):
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            written += 1
            if event["type"] == "created":
                tickets.add(event["ticket"])
    report = options.report
    skipped = sorted(report.skipped, key=lambda skip: (skip.source, skip.line))
    for skip in skipped[:SHOWN_SKIPS]:
        print(skip, file=sys.stderr)
    if len(skipped) > SHOWN_SKIPS:
        print(f"... and {len(skipped) - SHOWN_SKIPS} more skipped rows", file=sys.stderr)
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.reasons().items()))
    print(
        f"{args.kind}: {report.rows} rows read, {written} events written, {len(tickets)} tickets, "
        f"{len(report.skipped)} rows skipped"
        + (f" ({reasons})" if reasons else "")
        + f" in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


def _zone(name: str) -> dt.tzinfo:
    if name.upper() in {"UTC", "Z"}:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise UserError(
            f"--timezone: unknown time zone {name!r} (e.g. UTC, Europe/Berlin)"
        ) from None


@contextlib.contextmanager
def _output(name: str) -> Iterator[IO[str]]:
    if name == "-":
        yield sys.stdout
        return
    if name.endswith(".gz"):
        with gzip.open(name, "wt", encoding="utf-8") as compressed:
            yield compressed
    else:
        with open(name, "w", encoding="utf-8") as plain:
            yield plain
