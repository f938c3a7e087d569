"""``slaengine ingest``: store events from a file in the live state (a one-off feed)."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from slaengine.cli._live import add_live_options, live_settings, open_engine
from slaengine.cli._options import evaluation_instant, option_instant
from slaengine.errors import EventError, Problem, UserError
from slaengine.event_parsing import parse_event
from slaengine.inputs.files import open_binary
from slaengine.inputs.jsonl import BLANK, LineError, decode_line
from slaengine.live.eventstore import Reject
from slaengine.notifications import iso
from slaengine.words import plural


def register(commands: Any) -> None:
    """Add the ``ingest`` subcommand."""
    parser = commands.add_parser(
        "ingest",
        help="store events from a JSON Lines file (.gz too) in the live state",
        description="Validate canonical events (JSON Lines, one per line; '-' reads stdin) and "
        "store them in the state database; their tickets are re-evaluated at the worker's next "
        "cycle. Bad lines are kept in the rejects table with their line and reason.",
    )
    add_live_options(parser)
    parser.add_argument(
        "file", metavar="FILE", help="JSON Lines events ('.gz' is decompressed; '-' for stdin)"
    )
    parser.add_argument(
        "--advance", action="store_true", help="also advance the clock to now (queue what fell due)"
    )
    quiet = parser.add_mutually_exclusive_group()
    quiet.add_argument(
        "--quiet-history",
        action="store_true",
        help="load history quietly: the notifications these tickets reached before now are "
        "recorded as skipped, not sent; later ones are sent as usual",
    )
    quiet.add_argument(
        "--quiet-before",
        metavar="INSTANT",
        help="the same with another cut-off, e.g. the go-live 2025-12-01T00:00:00Z",
    )
    parser.set_defaults(run=run)


class _Lines:
    """The records of a file's lines for :meth:`LiveEngine.ingest`, decoded as ``evaluate``
    decodes them; remembers where each refused line went wrong, to report it the same way."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.located: dict[str, Problem] = {}

    def records(self, lines: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """``(origin, payload, problem[, text])`` of each non-blank line."""
        for number, line in enumerate(lines, start=1):
            origin = f"{self.name}:{number}"
            # A line that is not an event is kept as it was written (its text, last).
            text = line.removesuffix("\n").removesuffix("\r")
            try:
                payload = decode_line(line)
            except LineError as exc:
                self.located[origin] = Problem(self.name, number, exc.column, exc.code, exc.reason)
                yield origin, None, exc.reason, text
                continue
            if payload is BLANK:
                continue
            if isinstance(payload, dict):
                yield origin, payload, None
                continue
            try:
                parse_event(payload)  # not an object: evaluate's words for it
            except EventError as exc:
                yield origin, None, exc.reason, text

    def problem(self, reject: Reject) -> Problem:
        """``file:line[:column]: CODE reason``, as ``evaluate`` prints the same line."""
        found = self.located.get(reject.origin)
        if found is not None:
            return found
        name, _, number = reject.origin.rpartition(":")
        if name == self.name and number.isdigit():
            return Problem(name, int(number), 0, "E400", reject.problem)
        return Problem(reject.origin, 0, 0, "E400", reject.problem)


def run(args: argparse.Namespace) -> int:
    """Ingest the file; exit 1 when some events were rejected."""
    settings = live_settings(args)
    now = evaluation_instant(None)
    quiet = now if args.quiet_history else settings.quiet_before
    if args.quiet_before is not None:
        quiet = option_instant(args.quiet_before, "--quiet-before")
    engine, _ = open_engine(settings)
    try:
        if args.file == "-":
            if hasattr(sys.stdin, "reconfigure"):  # undecodable bytes become rejects too
                sys.stdin.reconfigure(errors="surrogateescape")
            read = _Lines("<stdin>")
            report = engine.ingest(read.records(sys.stdin), now, quiet_before=quiet)
        else:
            try:
                # A .gz file is read decompressed (damage there is a UserError naming
                # it); undecodable bytes become surrogate escapes, then rejects.
                with io.TextIOWrapper(
                    open_binary(args.file), encoding="utf-8", errors="surrogateescape"
                ) as lines:
                    read = _Lines(args.file)
                    report = engine.ingest(read.records(lines), now, quiet_before=quiet)
            except OSError as exc:
                raise UserError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        for reject in report.rejected[:20]:
            print(read.problem(reject), file=sys.stderr)
        again = f", {report.duplicates:,} already stored" if report.duplicates else ""
        print(
            f"{plural(report.accepted, 'event')} stored{again}, {len(report.rejected):,} rejected"
        )
        if quiet is not None and report.accepted:
            print(f"their notifications before {iso(quiet)} are recorded as skipped, not sent")
        if args.advance:
            skipped = engine.store.counts().get("outbox.skipped", 0)
            advanced = engine.advance(now)
            skipped = engine.store.counts().get("outbox.skipped", 0) - skipped
            print(
                f"{plural(advanced.evaluated, 'ticket')} evaluated, "
                f"{plural(advanced.outbox_rows, 'notification')} queued"
                + (f", {skipped:,} skipped" if quiet is not None else "")
            )
    finally:
        engine.store.close()
    return 1 if report.rejected else 0
