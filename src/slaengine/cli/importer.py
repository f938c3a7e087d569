"""``slaengine import``: convert another system's export into canonical events."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from slaengine.cli._options import add_tz, checked_zone, command_plugins
from slaengine.errors import UserError
from slaengine.importers import ImportFormatError, ImportOptions
from slaengine.importers.sniff import guess_kind
from slaengine.words import plural

SHOWN_SKIPS = 20


def register(commands: Any) -> None:
    """Add the ``import`` subcommand."""
    parser = commands.add_parser(
        "import",
        help="convert an export of another system into ticket events",
        description="Read an export of another support system and write canonical ticket "
        "events as JSON Lines. A row that cannot be used is reported with its line and "
        "skipped; a file of another format stops the import (exit 2) before anything is "
        "written. See docs/importers.md.",
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
    add_tz(parser, "zone of source timestamps without a UTC offset")
    parser.add_argument(
        "--mapping",
        metavar="FILE",
        help="column mapping (TOML) for the csv kind; default: canonical column names",
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
    if args.mapping and args.kind != "csv":
        raise UserError("--mapping is for the csv kind only")
    options = ImportOptions(
        timezone=_zone(args.tz), mapping=Path(args.mapping) if args.mapping else None
    )
    started = time.perf_counter()
    written = 0
    tickets: set[str] = set()
    try:
        with _output(args.output) as out:
            for event in importer.events(path, options):
                out.write(json.dumps(event, ensure_ascii=False) + "\n")
                written += 1
                if event["type"] == "created":
                    tickets.add(event["ticket"])
    except ImportFormatError as exc:
        guess = guess_kind(Path(exc.source))
        hint = (
            f"; it looks like a {guess} export: slaengine import {guess} {exc.source}"
            if guess and guess != args.kind
            else "; see slaengine import --list"
        )
        raise UserError(f"{exc}{hint}") from None
    report = options.report
    skipped = sorted(report.skipped, key=lambda skip: (skip.source, skip.line))
    for skip in skipped[:SHOWN_SKIPS]:
        print(skip, file=sys.stderr)
    if len(skipped) > SHOWN_SKIPS:
        print(f"... and {plural(len(skipped) - SHOWN_SKIPS, 'more skipped row')}", file=sys.stderr)
    reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(report.reasons().items()))
    notes = "".join(f"; {note}: {n:,}" for note, n in sorted(report.notes.items()))
    print(
        f"{args.kind}: {plural(report.rows, 'row')} read, {plural(written, 'event')} written, "
        f"{plural(len(tickets), 'ticket')}, {plural(len(report.skipped), 'row')} skipped"
        + (f" ({reasons})" if reasons else "")
        + notes
        + f" in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


def _zone(name: str) -> dt.tzinfo:
    if name.upper() in {"UTC", "Z"}:
        return dt.UTC
    import zoneinfo

    return zoneinfo.ZoneInfo(checked_zone(name))


@contextlib.contextmanager
def _output(name: str) -> Iterator[IO[str]]:
    """Standard output, or ``name`` written through a temporary file.

    The file appears only when the import succeeded: a wrong kind or a failure
    never leaves an empty or partial output that looks like a result.
    """
    if name == "-":
        yield sys.stdout
        return
    partial = f"{name}.partial"
    try:
        if name.endswith(".gz"):
            with gzip.open(partial, "wt", encoding="utf-8") as compressed:
                yield compressed
        else:
            with open(partial, "w", encoding="utf-8") as plain:
                yield plain
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise
    os.replace(partial, name)
