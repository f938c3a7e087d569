"""``slaengine explain``: why one ticket's SLA clocks are where they are."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from slaengine.cli._live import add_live_policies, live_settings, open_state, require_state
from slaengine.cli._options import (
    EVENTS_HELP,
    add_at,
    add_config,
    add_tz,
    checked_zone,
    evaluation_instant,
    load_command_policies,
    read_timelines,
    report_problems,
)
from slaengine.errors import UserError
from slaengine.explain import explain_ticket
from slaengine.live import LiveEngine
from slaengine.policy import PolicySet
from slaengine.problems import did_you_mean
from slaengine.report.explain import explanation_renderables, explanation_to_dict
from slaengine.report.terminal import fitted_width, terminal_console
from slaengine.timeline import Timeline
from slaengine.words import plural


def register(commands: Any) -> None:
    """Add the ``explain`` subcommand."""
    parser = commands.add_parser(
        "explain",
        help="explain one ticket's policy and clocks",
        description="Explain why a ticket is where it is: which policy matched and why, the "
        "calendars, and for each clock its start, stop, target and a timeline of running, "
        "paused, closed and stopped time, from an events file or the live state. Exit 1 when "
        "some events could not be used.",
    )
    add_live_policies(parser)
    add_config(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--events", "-e", metavar="FILE", help=EVENTS_HELP)
    source.add_argument(
        "--state",
        metavar="URL",
        help="instead of --events: the live state database (a SQLite file or "
        "postgresql://...) that slaengine ingest, run or serve keep; the ticket's stored events "
        "(default without --events: [live] state)",
    )
    parser.add_argument("--ticket", "-t", required=True, metavar="ID", help="the ticket id")
    add_at(parser)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object for tools instead of tables"
    )
    add_tz(parser, "time zone of the times shown; JSON is always UTC")
    parser.set_defaults(run=run)


def _unknown_ticket(ticket: str, source: str, known: list[str], problems: list[str]) -> UserError:
    message = f"no ticket {ticket!r} in {source}"
    close = did_you_mean(ticket, known)
    if close:
        message += close
    elif known:
        message += (
            f" (it has {plural(len(known), 'ticket')}, e.g. {', '.join(map(repr, known[:3]))})"
        )
    if any(f"ticket {ticket!r}" in p for p in problems):
        message += "; its events could not be used (see the problems above)"
    return UserError(message)


def _stored_timeline(policies: PolicySet, state: str, ticket: str) -> tuple[Timeline, list[str]]:
    """The ticket's timeline from the live state's stored events, and the stored events that
    could not be used (printed on stderr): those the policies' statuses no longer read."""
    require_state(state)
    store = open_state(state)
    try:
        timeline, problems = LiveEngine(policies, store).timeline(ticket)
    finally:
        store.close()
    for problem in problems:
        print(problem, file=sys.stderr)
    if timeline is None:
        raise _unknown_ticket(ticket, "the state", [], problems)
    return timeline, problems


def _sources(args: argparse.Namespace) -> tuple[tuple[str, ...], str | None]:
    """The policies and, unless ``--events`` is given, the live state, as the other live
    commands find them: the flags, else the ``[live]`` table of the settings file."""
    settings = live_settings(args)
    if not settings.policies:
        raise UserError("no policies: give --policies PATH or 'policies' in the [live] table")
    if args.events is not None:
        return settings.policies, None
    if args.state is None and "state" not in settings.config.get("live", {}):
        raise UserError(
            "no events: give --events FILE, or the live state with --state URL or 'state' "
            "in the [live] table of the settings file"
        )
    return settings.policies, settings.state


def run(args: argparse.Namespace) -> int:
    """Explain the ticket; returns 1 when some of its events were unusable."""
    now = evaluation_instant(args.at)
    checked_zone(args.tz)
    paths, state = _sources(args)
    policies = load_command_policies(*paths, targets=False)
    if state is not None:
        timeline, problems = _stored_timeline(policies, state, args.ticket)
    else:
        timelines = read_timelines(args.events, policies.status_map)
        problems = [str(p) for p in timelines.problems]
        report_problems(timelines.problems, duplicates=timelines.duplicates)
        read = timelines.timelines.get(args.ticket)
        if read is None:
            source = "<stdin>" if args.events == "-" else args.events
            raise _unknown_ticket(args.ticket, source, list(timelines.timelines), problems)
        timeline = read
    explanation = explain_ticket(policies, timeline, now)
    if args.json:
        sys.stdout.write(json.dumps(explanation_to_dict(explanation), ensure_ascii=False) + "\n")
    else:
        console = terminal_console(file_width=120)
        width = fitted_width(console)
        for renderable in explanation_renderables(explanation, args.tz, width):
            console.print(renderable)
    return 1 if problems else 0


__all__ = ["register", "run"]
