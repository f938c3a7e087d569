"""The remarks explain adds to a clock: what each rule the engine recorded did to it.

Every note reads the engine's record (:class:`slaengine.clock_record.ClockRecord`);
none decides a clock rule again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slaengine.clock_record import ClockRecord, PriorityChange, Rule
from slaengine.clocks import BREACHED, ClockResult
from slaengine.durations import format_duration
from slaengine.policy.model import MINUTES, Policy
from slaengine.timeline import STOPPED_STATUSES
from slaengine.vocabulary import SegmentReason


@dataclass(frozen=True, slots=True)
class Note:
    """A remark on a clock; ``text`` has ``{0}``, ``{1}``... where ``instants`` go.

    Instants stay epoch seconds so each renderer shows them in its own time zone.
    ``code`` is a stable key for tools (``priority_changed``, ``reopened``...).
    """

    code: str
    text: str
    instants: tuple[int, ...] = ()

    def render(self, when: Callable[[int], str]) -> str:
        """The text with each instant formatted by ``when``."""
        return self.text.format(*(when(t) for t in self.instants))


def priority_notes(
    clock: ClockResult,
    record: ClockRecord,
    breach: int | None,
) -> list[Note]:
    """Priority changes while the clock ran (its target counts from the start with the
    last priority) and after it stopped (they do not change it)."""
    notes: list[Note] = []
    changes: Sequence[PriorityChange] = record.priority_changes
    for change in changes:
        verb = "raised" if change.raised else "lowered"
        notes.append(
            Note(
                "priority_changed",
                f"priority {verb} from {change.old} to {change.new} at {{0}}{at_line(change.line)}",
                (change.at,),
            )
        )
    if changes:
        notes.append(
            Note(
                "target_from_start",
                f"target {format_duration(clock.target)} ({clock.priority}) counts from the "
                "original start {0}",
                (clock.start,),
            )
        )
        if breach is not None and breach < changes[-1].at:
            notes.append(
                Note(
                    "breached_before_change",
                    f"with the {clock.priority} target the time ran out at {{0}}, before the "
                    "priority changed at {1}: the new target applies retroactively",
                    (breach, changes[-1].at),
                )
            )
    later = record.later_priority_changes
    if later:
        notes.append(
            Note(
                "priority_changed_after_stop",
                f"priority changed to {later[-1].new} at {{0}}{at_line(later[-1].line)} after "
                f"this clock stopped; it keeps the {clock.priority} target",
                (later[-1].at,),
            )
        )
    return notes


def rule_notes(
    clock: ClockResult,
    record: ClockRecord,
    calendar: str,
    delay: int = 0,
    moved: Sequence[Note] = (),
) -> list[Note]:
    """What the metric's start and reopen rules did: a deferred start (``calendar`` is the
    one it waited for, ``delay`` its start_delay), a later start moving the start
    (``moved``: the note :func:`~slaengine.explain_triggers.counts_from_note` words), a
    reopen ignored."""
    notes: list[Note] = []
    start, stop = record.start_event, record.stop_event
    if start is not None and start.type == "created" and start.at != clock.start:
        notes.append(
            Note(
                "start_delay",
                f"created at {{0}}{at_line(start.line)}; with start_delay: "
                f"{format_duration(delay)} the clock starts after that much open time of "
                f"calendar '{calendar}', at {{1}}",
                (start.at, clock.start),
            )
            if delay
            else Note(
                "starts_first_business_minute",
                f"created at {{0}}{at_line(start.line)}, outside the open hours of calendar "
                f"'{calendar}'; with starts: first_business_minute the clock starts "
                "at its next opening {1}",
                (start.at, clock.start),
            )
        )
        if stop is not None and stop.at < clock.start:
            notes.append(
                Note(
                    "stopped_before_start",
                    f"the event at {{0}}{at_line(stop.line)} came before the clock started: it "
                    "stops the clock at its start, with 0s elapsed",
                    (stop.at,),
                )
            )
    notes += moved  # counts_from: latest_customer_message, worded by its trigger
    reopen = record.ignored_reopen
    if reopen is not None and clock.stop is not None:
        notes.append(
            Note(
                "stays_met",
                f"reopened at {{0}}{at_line(reopen.line)}; with on_reopen: stays_met "
                f"{_literal(clock.metric)} stays stopped at the first solve {{1}}",
                (reopen.at, clock.stop),
            )
        )
    return notes


def due_notes(
    clock: ClockResult, record: ClockRecord, running: bool, paused_now: bool
) -> tuple[list[Note], str | None]:
    """Why the due is hidden, unknown or moved to the next opening; and the hiding status."""
    notes: list[Note] = []
    hidden = record.adjustment(Rule.HIDE_WHEN, "due")
    hidden_by = hidden.status if hidden is not None else None
    exact_due = record.exact_due(clock.due)
    if hidden_by is not None:
        text = f"the deadline is hidden while the ticket is {hidden_by} (hide_when); " + (
            "the clock is paused too" if paused_now else "its time still counts"
        )
        if exact_due is not None and clock.state == BREACHED:
            notes.append(Note("due_hidden", text + ": the target ran out at {0}", (exact_due,)))
        elif exact_due is not None:
            notes.append(Note("due_hidden", text + ", due at {0} if shown", (exact_due,)))
        else:
            notes.append(Note("due_hidden", text))
    elif running and clock.due is None:
        notes.append(
            Note("due_unknown", "due is unknown while paused: it depends on when the pause ends")
        )
    moved = record.adjustment(Rule.DUE_AT_CLOSING, "due")
    if moved is not None and moved.before is not None and moved.after is not None:
        notes.append(
            Note(
                "due_at_next_opening",
                "the deadline falls at closing time {0}; with due_at_closing: next_opening it "
                "is shown as the next opening {1}",
                (moved.before, moved.after),
            )
        )
    return notes, hidden_by


def precision_notes(
    clock: ClockResult, record: ClockRecord, policy: Policy | None, counted: int
) -> list[Note]:
    """What ``precision: minutes`` dropped: part-minutes of running and paused time."""
    notes: list[Note] = []
    if policy is None or policy.precision != MINUTES:
        return notes
    if record.uncounted:
        notes.append(
            Note(
                "precision_minutes",
                f"precision: minutes: running time {format_duration(counted)} counts as "
                f"{format_duration(clock.elapsed)} (whole minutes)",
            )
        )
    if counted > clock.target >= clock.elapsed:
        notes.append(
            Note(
                "within_whole_minutes",
                f"the running time passes the {format_duration(clock.target)} target by "
                f"{format_duration(counted - clock.target)}, less than a minute: in whole "
                "minutes it is within it",
            )
        )
    paused = record.adjustment(Rule.PRECISION, "paused")
    if paused is not None and paused.before is not None:
        notes.append(
            Note(
                "precision_minutes_paused",
                f"precision: minutes: paused time {format_duration(paused.before)} counts as "
                f"{format_duration(clock.paused)}; pauses start and end at whole minutes",
            )
        )
    return notes


def _literal(text: str) -> str:
    """``text`` placed in a note's format string: its braces stay braces."""
    return text.replace("{", "{{").replace("}", "}}")


def segment_notes(
    segments: Sequence[tuple[str, int, int, str | None]],
    running: bool,
    metric: str = "resolution",
) -> list[Note]:
    """Solves ``metric``'s clock lived through: ``(kind, start, end, status)`` of stopped
    segments (a reopen resumed it) and of pauses in a solved status (``when_solved: pause``)."""
    notes: list[Note] = []
    for index, (kind, start, end, status) in enumerate(segments):
        if kind == SegmentReason.STOPPED:
            notes.append(
                Note(
                    "reopened",
                    f"ticket {status} at {{0}} and reopened at {{1}}: the same "
                    f"{_literal(metric)} clock resumed, keeping its elapsed time",
                    (start, end),
                )
            )
        elif kind == SegmentReason.PAUSED and status in STOPPED_STATUSES:
            if running and index == len(segments) - 1:
                notes.append(
                    Note(
                        "when_solved_pause",
                        f"ticket {status} at {{0}}: with when_solved: pause the clock "
                        "is paused until the ticket is reopened",
                        (start,),
                    )
                )
            elif index == len(segments) - 1:
                # The clock stopped (a reply, a superseding message) while still solved.
                notes.append(
                    Note(
                        "when_solved_pause",
                        f"ticket {status} at {{0}}: with when_solved: pause the clock was "
                        "paused, not stopped, until it stopped at {1}, the ticket still "
                        f"{status}",
                        (start, end),
                    )
                )
            else:
                notes.append(
                    Note(
                        "when_solved_pause",
                        f"ticket {status} at {{0}} and reopened at {{1}}: with "
                        "when_solved: pause the clock was paused, not stopped",
                        (start, end),
                    )
                )
    return notes


def at_line(line: int | None) -> str:
    """`` (line 12)`` after an instant in a note; nothing for an event from no file
    (line 0: the live state's stored events)."""
    return f" (line {line})" if line else ""


def article(word: str) -> str:
    """``a`` or ``an`` before ``word``."""
    return "an" if word[:1] in "aeiou" else "a"


__all__ = [
    "Note",
    "article",
    "at_line",
    "due_notes",
    "precision_notes",
    "priority_notes",
    "rule_notes",
    "segment_notes",
]
