"""``slaengine outbox --rejects``: the events the live state refused; replaying and pruning them.

Listing shows each reject's origin, reason and text; ``--replay-reject ID``
stores a corrected event in its place (a dead letter redriven, all or
nothing); ``--prune-rejects`` and ``--prune-delivered`` delete rows older
than ``--older-than``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slaengine.cli._live import LiveSettings, open_engine
from slaengine.errors import UserError
from slaengine.live.eventstore import AlreadyReplayed, UnknownReject
from slaengine.live.redrive import NO_EVENT, REFUSED, REPLAYED, redrive, redrive_answer
from slaengine.live.rejects import (
    NothingToReplay,
    reject_dict,
    replay_answer,
    replay_origin,
    stored_event,
)
from slaengine.live.retention import parse_age
from slaengine.live.store import Store
from slaengine.live.text import escape_controls
from slaengine.notifications import iso
from slaengine.report.rejects import rejects_table
from slaengine.report.terminal import FILE_WIDTH, fitted_width, terminal_console
from slaengine.words import plural


def list_rejects(store: Store, args: argparse.Namespace, zone: ZoneInfo) -> int:
    """Print the stored rejects ``args`` ask for (a table, or ``--json``); exit 1 if any."""
    # The export is in full: an inbox reject's webhook body too, to redeliver it.
    if args.after is not None:
        rows = store.reject_rows(args.limit, args.after, body=args.json)
    else:
        rows = store.reject_page(args.limit, origin=args.source, body=args.json)
    total = store.counts()["rejects"]
    if args.json:
        sys.stdout.writelines(json.dumps(reject_dict(row, body=True)) + "\n" for row in rows)
        return 1 if rows else 0
    fitted = rejects_table(rows, zone, args.tz, fitted_width(terminal_console()))
    # Into a file or a pipe every cell is whole, however wide the rows.
    console = terminal_console(file_width=max(FILE_WIDTH, fitted.width))
    console.print(fitted.table)
    for note in fitted.notes:
        console.print(note)
    console.print(f"{plural(len(rows), 'reject')} shown of {total:,}; --json for the whole text")
    return 1 if rows else 0


def prune_rows(store: Store, args: argparse.Namespace, now: int) -> int:
    """Delete the rejects and/or settled outbox rows older than ``--older-than``."""
    if args.older_than is None:
        raise UserError("--prune-rejects and --prune-delivered need --older-than, e.g. 30d")
    try:
        before = now - parse_age(args.older_than)
    except ValueError as exc:
        raise UserError(f"--older-than: {exc}") from None
    done = []
    if args.prune_rejects:
        done.append(plural(store.prune_rejects(before), "reject"))
    if args.prune_delivered:
        done.append(plural(store.prune_delivered(before), "delivered or skipped outbox row"))
    print(f"deleted {' and '.join(done)} from before {iso(before)}")
    return 0


def _read_fixed(path: str) -> list[Any]:
    """The corrected events in ``path`` (``-``: stdin): a JSON object, array, or JSON Lines."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--file: cannot read {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"--file: cannot read {path!r}: not UTF-8 text ({exc.reason})") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) < 2:
            raise UserError(f"--file: {path!r} is neither JSON nor JSON Lines") from None
        document = []
        for number, line in lines:
            try:
                document.append(json.loads(line))
            except (ValueError, RecursionError) as exc:
                raise UserError(f"--file: {path}:{number}: not JSON: {exc}") from None
    return document if isinstance(document, list) else [document]


def replay_reject(settings: LiveSettings, args: argparse.Namespace, now: int) -> int:
    """Store the corrected event(s) of ``--file`` (else the stored one) in place of a reject.

    Exits 0 when replayed, 1 when an event was refused (nothing stored).
    """
    engine, _ = open_engine(settings)
    reject_id = args.replay_reject
    try:
        if args.file is not None:
            values = _read_fixed(args.file)
        else:
            row = engine.store.reject(reject_id)
            if row is None:
                raise UserError(f"no reject {reject_id} (never stored, or pruned)")
            values = [stored_event(row)]
        if not values:
            raise UserError(f"--file: {args.file!r} holds no events")
        label = f"slaengine outbox --replay-reject {reject_id}"
        records = [
            (replay_origin(label, reject_id, f"event {index}"), value, None)
            if isinstance(value, dict)
            else (replay_origin(label, reject_id, f"event {index}"), None, "expected an object")
            for index, value in enumerate(values)
        ]
        report = engine.replay(reject_id, records, now)
    except UnknownReject:
        raise UserError(f"no reject {reject_id} (never stored, or pruned)") from None
    except AlreadyReplayed as exc:
        raise UserError(f"reject {reject_id} was already replayed at {iso(exc.replayed)}") from None
    except NothingToReplay as exc:
        raise UserError(f"{exc}: --file FILE") from None
    finally:
        engine.store.close()
    answer = replay_answer(reject_id, report)
    if args.json:
        print(json.dumps(answer))
    elif answer["replayed"]:
        print(
            f"reject {reject_id} replayed: {plural(report.accepted, 'event')} stored, "
            f"{plural(report.duplicates, 'duplicate')}"
        )
    else:
        print(f"reject {reject_id} not replayed; nothing stored:")
        for outcome in report.outcomes:
            if outcome.reason is not None:
                print(f"  {escape_controls(outcome.origin, 200)}: {outcome.reason}")
    return 0 if answer["replayed"] else 1


def redrive_rejects(settings: LiveSettings, args: argparse.Namespace, now: int) -> int:
    """Replay the stored event of every reject not yet replayed (``--source``, ``--limit``).

    Exits 0 when none was still refused, 1 otherwise.
    """
    engine, _ = open_engine(settings)
    try:
        rows = engine.store.reject_page(args.limit, origin=args.source, replayed=False)
        results = redrive(engine, rows, now, "slaengine outbox --redrive")
    finally:
        engine.store.close()
    answer = redrive_answer(results)
    if args.json:
        print(json.dumps(answer))
    else:
        for result in results:
            if result.status != REPLAYED:
                print(f"reject {result.reject}: {result.status}: {result.reason}")
        print(
            f"{plural(answer[REPLAYED], 'reject')} replayed, {answer[REFUSED]} still refused, "
            f"{answer[NO_EVENT]} without an event to send"
        )
    return 1 if answer[REFUSED] else 0


__all__ = ["list_rejects", "prune_rows", "redrive_rejects", "reject_dict", "replay_reject"]
