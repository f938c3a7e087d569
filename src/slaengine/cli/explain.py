"""``slaengine explain``: why one ticket's SLA clocks are where they are."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from slaengine.errors import EventError, UserError
from slaengine.eventlog import read_events
from slaengine.explain import explain_ticket
from slaengine.policy import load_policies
from slaengine.report.explain import explanation_renderables, explanation_to_dict
from slaengine.timeline import parse_instant

SHOWN_PROBLEMS = 20


def register(commands: Any) -> None:
    """Add the ``explain`` subcommand."""
    parser = commands.add_parser(
        "explain",
        help="explain one ticket's policy and clocks",
        description="Explain why a ticket is where it is: which policy matched and why, the "
        "calendars, and for each clock its start, stop, target and a timeline of running, "
        "paused, closed and stopped time. Exit 1 when some events could not be used.",
    )
    parser.add_argument(
        "--policies",
        "-p",
        action="append",
        required=True,
        metavar="PATH",
        help="policy file or directory (repeatable)",
    )
    parser.add_argument(
        "--events",
        "-e",
        required=True,
        metavar="FILE",
        help="JSON Lines events (.gz too); '-' reads stdin",
    )
    parser.add_argument("--ticket", "-t", required=True, metavar="ID", help="the ticket id")
    parser.add_argument(
        "--at",
        metavar="ISO",
        help="evaluation instant with a UTC offset (default: now); later events are ignored",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object for tools instead of tables"
    )
    parser.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="time zone of the times shown (default UTC; JSON is always UTC)",
    )
    parser.set_defaults(run=run)


def _now(text: str | None) -> int:
    if text is None:
        return int(time.time())
    try:
        return parse_instant(text)
    except EventError as exc:
        raise UserError(f"--at: {exc.reason}") from None


def _unknown_ticket(ticket: str, source: str, known: list[str], problems: list[str]) -> UserError:
    message = f"no ticket {ticket!r} in {source}"
    close = difflib.get_close_matches(ticket, known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    elif known:
        message += f" (it has {len(known)} tickets, e.g. {', '.join(map(repr, known[:3]))})"
    if any(f"ticket {ticket!r}" in p for p in problems):
        message += "; its events could not be used (see the problems above)"
    return UserError(message)


def run(args: argparse.Namespace) -> int:
    """Explain the ticket; returns 1 when some events in the file were unusable."""
    now = _now(args.at)
    try:
        ZoneInfo(args.tz)
    except (KeyError, ValueError):
        raise UserError(f"--tz: unknown time zone {args.tz!r}") from None
    policies = load_policies(*args.policies)
    try:
        timelines = read_events(args.events, policies.status_map)
    except OSError as exc:
        raise UserError(f"--events: cannot read {args.events}: {exc.strerror or exc}") from None
    problems = [str(p) for p in timelines.problems]
    for problem in problems[:SHOWN_PROBLEMS]:
        print(problem, file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"... and {len(problems) - SHOWN_PROBLEMS} more problem(s)", file=sys.stderr)
    if timelines.duplicates:
        print(f"{timelines.duplicates} duplicate event(s) ignored (repeated id)", file=sys.stderr)
    timeline = timelines.timelines.get(args.ticket)
    if timeline is None:
        source = "<stdin>" if args.events == "-" else args.events
        raise _unknown_ticket(args.ticket, source, list(timelines.timelines), problems)
    explanation = explain_ticket(policies, timeline, now)
    if args.json:
        sys.stdout.write(json.dumps(explanation_to_dict(explanation), ensure_ascii=False) + "\n")
    else:
        console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 120)
        for renderable in explanation_renderables(explanation, args.tz):
            console.print(renderable)
    return 1 if problems else 0


__all__ = ["register", "run"]
