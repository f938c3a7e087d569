"""``slaengine ingest``: store events from a file in the live state (a one-off feed)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from slaengine.cli._live import add_live_options, live_settings, open_engine
from slaengine.cli._options import evaluation_instant
from slaengine.errors import UserError
from slaengine.inputs.files import open_binary
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
    parser.set_defaults(run=run)


def _records(lines: Any, name: str) -> Any:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        origin = f"{name}:{number}"
        try:
            line.encode("utf-8")  # undecodable bytes were read as surrogate escapes
        except UnicodeEncodeError as exc:
            yield origin, None, f"not valid UTF-8 (character {exc.start + 1} of the line)"
            continue
        try:
            payload = json.loads(line)
        except json.JSONDecodeError as exc:
            yield origin, None, f"not valid JSON: {exc.msg}"
            continue
        except ValueError as exc:  # an integer beyond Python's digit limit
            yield origin, None, f"not usable JSON: {str(exc).split(':')[0]}"
            continue
        except RecursionError:
            yield origin, None, "not usable JSON: nested too deeply"
            continue
        if isinstance(payload, dict):
            yield origin, payload, None
        else:
            yield origin, None, f"expected a JSON object, got {type(payload).__name__}"


def run(args: argparse.Namespace) -> int:
    """Ingest the file; exit 1 when some events were rejected."""
    settings = live_settings(args)
    engine, _ = open_engine(settings)
    now = evaluation_instant(None)
    try:
        if args.file == "-":
            if hasattr(sys.stdin, "reconfigure"):  # undecodable bytes become rejects too
                sys.stdin.reconfigure(errors="surrogateescape")
            report = engine.ingest(_records(sys.stdin, "<stdin>"), now)
        else:
            try:
                # A .gz file is read decompressed (damage there is a UserError naming
                # it); undecodable bytes become surrogate escapes, then rejects.
                with io.TextIOWrapper(
                    open_binary(args.file), encoding="utf-8", errors="surrogateescape"
                ) as lines:
                    report = engine.ingest(_records(lines, args.file), now)
            except OSError as exc:
                raise UserError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        for reject in report.rejected[:20]:
            print(f"{reject.origin}: {reject.problem}", file=sys.stderr)
        again = f", {report.duplicates:,} already stored" if report.duplicates else ""
        print(
            f"{plural(report.accepted, 'event')} stored{again}, {len(report.rejected):,} rejected"
        )
        if args.advance:
            advanced = engine.advance(now)
            print(
                f"{plural(advanced.evaluated, 'ticket')} evaluated, "
                f"{plural(advanced.outbox_rows, 'notification')} queued"
            )
    finally:
        engine.store.close()
    return 1 if report.rejected else 0
