"""``slaengine audit``: SLA compliance and support KPIs over a whole events file."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from rich.console import Console

from slaengine.audit import PERIODS, AuditOptions, audit_file, parse_dimensions
from slaengine.audit.goals import agreement_goals, policy_goals
from slaengine.batches import partition_count
from slaengine.batches.collector import collector_paused
from slaengine.cli._options import (
    add_at,
    add_events,
    add_jobs,
    add_policies,
    add_rejects,
    add_scheduler,
    add_tz,
    checked_zone,
    evaluation_instant,
    load_command_policies,
    report_problems,
    worker_count,
    writable_output,
)
from slaengine.errors import UserError
from slaengine.inputs import source_name
from slaengine.metric_names import labels_of
from slaengine.report.audit import audit_renderable, audit_to_dict
from slaengine.report.goals import goal_csv
from slaengine.report.terminal import fitted_width, terminal_console


def register(commands: Any) -> None:
    """Add the ``audit`` subcommand."""
    parser = commands.add_parser(
        "audit",
        help="SLA compliance and support KPIs over an events file",
        description="Evaluate every ticket of an events file and aggregate: SLA compliance, "
        "breach margins, response and resolution times, response rate, first contact "
        "resolution, time in new/open, reopen rate and CSAT, per channel, priority, policy, "
        "group, agent and period. Exit 1 when events were rejected, 2 on usage errors. "
        "KPI definitions: docs/kpis.md.",
    )
    add_policies(parser)
    add_events(parser)
    add_at(parser)
    add_jobs(parser)
    add_tz(parser, "time zone of periods and hour-of-week tables")
    parser.add_argument(
        "--by",
        default="channel,priority",
        metavar="DIMS",
        help="grouping of the 'groups' section: comma-separated channel, priority, policy, "
        "group, agent, period, agreement, metric (default channel,priority)",
    )
    parser.add_argument(
        "--period",
        choices=PERIODS,
        default="week",
        help="trend periods by ticket creation (default week)",
    )
    parser.add_argument("--json", action="store_true", help="print the audit as JSON")
    parser.add_argument("--breaches", metavar="FILE", help="write every breached clock as CSV")
    parser.add_argument(
        "--goals",
        metavar="FILE",
        help="write attainment against the policies' goals as CSV (overall, per period, per group)",
    )
    add_rejects(parser)
    add_scheduler(parser)
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="write the audit as a self-contained HTML report with charts (docs/report.md)",
    )
    parser.set_defaults(run=run)


class PartProgress:
    """Counts audited parts against an expected total that yields to the real count.

    The number of parts is an estimate until the input is read: a file grouped
    by ticket is cut into chunks of whole tickets as it streams, which may give
    one chunk more or fewer than estimated. So the total grows when a part
    arrives beyond it, and is set to the parts actually done at the end: the
    bar never shows more parts done than its total (no ``9/8``).
    """

    def __init__(self, expected: int) -> None:
        self.total = max(1, expected)
        self.done = 0

    def advance(self) -> None:
        """One more part merged."""
        self.done += 1
        self.total = max(self.total, self.done)

    def finish(self) -> None:
        """Every part is merged: the total is what was done."""
        self.total = self.done


@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[], None] | None]:
    """A progress bar on stderr advanced once per partition; nothing when not enabled."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    parts = PartProgress(total)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("auditing parts", total=parts.total)

        def advance() -> None:
            parts.advance()
            progress.update(task, completed=parts.done, total=parts.total)

        yield advance
        parts.finish()
        progress.update(task, completed=parts.done, total=parts.total)


def _write_html(path: str, doc: dict[str, Any], policies: list[str]) -> None:
    """Write the HTML report (UTF-8, ``\\n`` line ends: the same bytes on every platform)."""
    from slaengine.report.html import render_html

    _write_text(path, render_html(doc, policies=policies), "--html")


def _write_text(path: str, text: str, option: str) -> None:
    """Write ``text`` as it is (UTF-8, no newline translation); a failure names ``option``."""
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    except OSError as exc:
        raise UserError(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    """Load, audit, print; returns 1 when some events were unusable."""
    log = structlog.get_logger("slaengine.audit")
    now = evaluation_instant(args.at)
    jobs = worker_count(args.jobs)
    checked_zone(args.tz)
    try:
        by = parse_dimensions(args.by)
    except ValueError as exc:
        raise UserError(f"--by: {exc}") from None
    if args.events != "-" and not os.path.exists(args.events):
        raise UserError(f"--events: cannot read {args.events}: no such file")
    # Outputs are written after the whole audit: a bad path stops it before it starts.
    for option, path in (
        ("--html", args.html),
        ("--goals", args.goals),
        ("--breaches", args.breaches),
        ("--rejects", args.rejects),
    ):
        if path is not None:
            writable_output(path, option)
    policies = load_command_policies(*args.policies, targets=False)
    goals, held = policy_goals(policies), agreement_goals(policies)
    # The goal and agreement views follow the policies (audit_file decides, as for any caller).
    options = AuditOptions(now=now, zone=args.tz, period=args.period, by=by)
    started = time.perf_counter()
    show = sys.stderr.isatty()
    total = partition_count(args.events)
    try:
        with collector_paused(), _progress(show, total) as advance:
            if args.scheduler:
                from slaengine.distributed.cli import audit_on_scheduler

                audit, batch = audit_on_scheduler(
                    args.scheduler, policies, args.events, options, breaches=args.breaches,
                    on_partition=advance,
                )  # fmt: skip
            else:
                # The report needs the KPIs alone: values are let go as they are computed.
                audit, batch = audit_file(
                    policies, args.events, options, jobs=jobs, breaches=args.breaches,
                    on_partition=advance, keep_values=False,
                )  # fmt: skip
    except OSError as exc:
        raise UserError(f"cannot read or write: {exc.filename}: {exc.strerror or exc}") from None
    log.info(
        "audited",
        tickets=audit.tickets,
        lines=batch.lines,
        partitions=batch.partitions,
        jobs=jobs,
        seconds=round(time.perf_counter() - started, 3),
    )
    doc = audit_to_dict(
        audit,
        batch,
        source=source_name(args.events),
        now=now,
        by=by,
        labels=labels_of(policies),
        goals=goals,
        agreement_goals=held,
    )
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        console = terminal_console(file_width=140)
        console.print(audit_renderable(doc, fitted_width(console)))
    if args.html:
        _write_html(args.html, doc, [policy.name for policy in policies.policies])
    if args.goals:
        _write_text(args.goals, goal_csv(doc["goals"]), "--goals")
        if not goals and not held:
            # A header alone would look like a failure to compute them.
            print(
                f"slaengine: {args.goals} has no rows: no policy or agreement sets a goal "
                "('goal: 95%', docs/policies.md#attainment-goals-goal)",
                file=sys.stderr,
            )
    # The terminal summary and the JSON document already count duplicates.
    report_problems(batch.problems, args.rejects)
    return 1 if batch.problems else 0
