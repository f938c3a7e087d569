"""``slaengine outbox``: the live engine's notifications, their deliveries and failures.

With ``--rejects`` it lists the events the state refused instead; ``--replay-reject``
stores a corrected event in a reject's place, ``--prune-rejects`` and
``--prune-delivered`` delete old rows (:mod:`._rejects`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from slaengine.cli._live import add_live_options, live_settings, open_store
from slaengine.cli._options import add_tz, checked_zone, evaluation_instant
from slaengine.cli._rejects import list_rejects, prune_rows, redrive_rejects, replay_reject
from slaengine.errors import UserError
from slaengine.live.store import DEAD, FAILED, OUTBOX_STATES, OutboxRow
from slaengine.notifications import iso
from slaengine.report.outbox import outbox_table
from slaengine.report.terminal import FILE_WIDTH, fitted_width, terminal_console
from slaengine.words import plural


def register(commands: Any) -> None:
    """Add the ``outbox`` subcommand."""
    parser = commands.add_parser(
        "outbox",
        help="list notifications and their deliveries; retry dead ones; list rejected events",
        description="List the outbox of the live state: one row per notification and "
        "recipient, with its state (pending, failed, delivered, dead, cancelled), attempts and "
        "last error. By default failed and dead rows are shown; --all shows every row. "
        "--rejects lists the events the state refused instead: origin, reason and what was "
        "sent (--json in full), newest first, or from --after ID on in order. "
        "--replay-reject ID stores the corrected event of --file in a reject's place (all or "
        "nothing; the reject is marked replayed). --prune-rejects and --prune-delivered delete "
        "rejects and delivered or skipped rows older than --older-than (e.g. 30d). --redrive "
        "sends the stored event of every reject not yet replayed again, each on its own.",
    )
    add_live_options(parser, policies=False)
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        metavar="PATH",
        help="with --replay-reject: policy file or directory (default: [live] policies)",
    )
    parser.add_argument(
        "--status",
        action="append",
        choices=OUTBOX_STATES,
        help="only rows in this state (repeatable)",
    )
    parser.add_argument("--all", action="store_true", help="every row, whatever its state")
    parser.add_argument("--ticket", metavar="ID", help="only this ticket's rows")
    parser.add_argument(
        "--limit", type=int, default=200, metavar="N", help="at most N rows (default 200)"
    )
    parser.add_argument(
        "--retry",
        type=int,
        nargs="*",
        metavar="ID",
        help="send these failed or dead rows again now (no ID: all dead rows)",
    )
    parser.add_argument(
        "--rejects",
        action="store_true",
        help="list rejected events (origin, reason, what was sent) instead; exit 1 if any",
    )
    parser.add_argument(
        "--after",
        type=int,
        metavar="ID",
        help="with --rejects: only rejects after this id, oldest first (an export going on)",
    )
    parser.add_argument(
        "--source",
        metavar="PREFIX",
        help="with --rejects: only rejects whose origin starts with PREFIX",
    )
    parser.add_argument(
        "--replay-reject",
        type=int,
        metavar="ID",
        help="store the corrected event of --file (else the stored one) in place of reject ID",
    )
    parser.add_argument(
        "--redrive",
        action="store_true",
        help="send the stored event of every reject not yet replayed again (after a policy "
        "fix); --source narrows it, --limit caps it",
    )
    parser.add_argument(
        "--file",
        metavar="FILE",
        help="with --replay-reject: the corrected event(s), JSON or JSON Lines ('-': stdin)",
    )
    parser.add_argument(
        "--prune-rejects",
        action="store_true",
        help="delete rejects received more than --older-than ago",
    )
    parser.add_argument(
        "--prune-delivered",
        action="store_true",
        help="delete delivered and skipped outbox rows settled more than --older-than ago",
    )
    parser.add_argument(
        "--older-than", metavar="AGE", help="with --prune-*: an age such as 30d, 12h or 1d12h"
    )
    parser.add_argument("--json", action="store_true", help="print JSON Lines, one row per line")
    add_tz(parser)
    parser.set_defaults(run=run)


def _row_dict(row: OutboxRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "key": row.key,
        "recipient": row.recipient,
        "ticket": row.ticket,
        "kind": row.kind,
        "at": iso(row.due_at),
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt": iso(row.next_attempt) if row.status == FAILED else None,
        "last_error": row.last_error,
        "created": iso(row.created),
        "delivered": iso(row.delivered),
    }


def run(args: argparse.Namespace) -> int:
    """List (or retry) outbox rows; exit 1 when dead rows are listed."""
    zone = ZoneInfo(checked_zone(args.tz))
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.after is not None and not args.rejects:
        raise UserError("--after goes with --rejects")
    if args.source is not None and not (args.rejects or args.redrive):
        raise UserError("--source goes with --rejects or --redrive")
    if args.after is not None and args.source is not None:
        raise UserError("--after exports every reject in order; it takes no --source")
    if args.file is not None and args.replay_reject is None:
        raise UserError("--file goes with --replay-reject")
    if args.older_than is not None and not (args.prune_rejects or args.prune_delivered):
        raise UserError("--older-than goes with --prune-rejects or --prune-delivered")
    settings = live_settings(args)
    now = evaluation_instant(None)
    if args.replay_reject is not None:
        return replay_reject(settings, args, now)
    if args.redrive:
        return redrive_rejects(settings, args, now)
    # Pruning checks its own options first; everything else only looks.
    store = open_store(settings, existing=not (args.prune_rejects or args.prune_delivered))
    try:
        if args.prune_rejects or args.prune_delivered:
            return prune_rows(store, args, now)
        if args.rejects:
            return list_rejects(store, args, zone)
        if args.retry is not None:
            count = store.retry(now, args.retry)
            print(f"{plural(count, 'notification')} queued again")
            return 0
        statuses = () if args.all else tuple(args.status or (FAILED, DEAD))
        rows = store.outbox(statuses, args.ticket, args.limit)
        counts = store.counts()
    finally:
        store.close()
    if args.json:
        sys.stdout.writelines(json.dumps(_row_dict(row)) + "\n" for row in rows)
    else:
        if rows:
            fitted = outbox_table(rows, zone, args.tz, fitted_width(terminal_console()))
            # Into a file or a pipe every cell is whole, however wide the rows.
            console = terminal_console(file_width=max(FILE_WIDTH, fitted.width))
            console.print(fitted.table)
            for note in fitted.notes:
                console.print(note)
        else:  # a line in words, not a header over nothing
            console = terminal_console()
            console.print(_nothing_listed(statuses, args.ticket), markup=False, highlight=False)
        summary = ", ".join(
            f"{counts.get('outbox.' + state, 0)} {state}" for state in OUTBOX_STATES
        )
        totals = f"{plural(counts['events'], 'event')}, {plural(counts['tickets'], 'ticket')}"
        rejected = plural(counts["rejects"], "rejected event")
        console.print(f"outbox: {summary}; {totals}, {rejected}")
    return 1 if any(row.status == DEAD for row in rows) else 0


def _nothing_listed(statuses: tuple[str, ...], ticket: str | None) -> str:
    """The line that stands for an empty table: which rows there are none of."""
    which = " or ".join([", ".join(statuses[:-1]), statuses[-1]] if len(statuses) > 2 else statuses)
    what = f"{which} notifications" if which else "notifications"
    of = f" of ticket {ticket}" if ticket is not None else ""
    hint = "" if not statuses else " (--all lists every row)"
    return f"No {what}{of}{hint}."
