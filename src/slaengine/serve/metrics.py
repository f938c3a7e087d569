"""``/metrics``: the live state and this process's counters in Prometheus text format.

Two kinds of figures. Totals kept in the state database (events stored and
rejected, outbox rows by state, open clocks) are the same whichever process
answers, and survive restarts. Counters of this process (requests, events
by outcome, inbox deliveries) start at zero with it, as Prometheus expects
of a counter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from slaengine.durations import format_duration
from slaengine.live.atrisk import ClockCounts
from slaengine.live.store import OUTBOX_STATES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Counters:
    """Monotonic counters by name and label values, safe to bump from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}

    def add(self, name: str, amount: int = 1, **labels: str) -> None:
        """Add ``amount`` to the counter ``name`` with ``labels``."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def get(self, name: str, **labels: str) -> int:
        """The value of one counter (0 when never bumped)."""
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0)

    def samples(self, name: str) -> list[tuple[dict[str, str], int]]:
        """Every labelled value of ``name``, in label order."""
        with self._lock:
            found = [(dict(k[1]), v) for k, v in self._values.items() if k[0] == name]
        return sorted(found, key=lambda sample: sorted(sample[0].items()))


@dataclass(frozen=True, slots=True)
class StateFigures:
    """What ``/metrics`` reads from the state database at one instant."""

    now: int
    events: int
    rejects: int
    outbox: Mapping[str, int]
    oldest_undelivered: int | None
    open_clocks: int
    windows: tuple[int, ...]
    by_group: tuple[ClockCounts, ...]
    at_risk_window: int
    at_risk: tuple[ClockCounts, ...] = field(default_factory=tuple)
    # Rows pruned by retention, by kind, so the totals never go down.
    pruned: Mapping[str, int] = field(default_factory=dict)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, labels: Mapping[str, str], value: int) -> str:
    text = ",".join(f'{key}="{_escape(str(val))}"' for key, val in labels.items())
    return f"{name}{{{text}}} {value}" if text else f"{name} {value}"


class _Page:
    """Lines of the exposition, each family with its HELP and TYPE once."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], int]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        self.lines.extend(_sample(name, labels, value) for labels, value in samples)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _window(seconds: int) -> str:
    return format_duration(seconds)


def render(state: StateFigures, counters: Counters) -> str:
    """The exposition text of ``state`` and ``counters``."""
    page = _Page()
    page.family(
        "slaengine_events_stored_total",
        "counter",
        "Events in the state database (each (ticket, id) once).",
        [({}, state.events)],
    )
    page.family(
        "slaengine_events_rejected_total",
        "counter",
        "Events refused by validation (the rejects table, and those pruned from it).",
        [({}, state.rejects + state.pruned.get("rejects", 0))],
    )
    page.family(
        "slaengine_api_events_total",
        "counter",
        "Events received over HTTP by this process, by endpoint and outcome.",
        counters.samples("api_events"),
    )
    page.family(
        "slaengine_inbox_deliveries_total",
        "counter",
        "Inbox webhook deliveries received by this process, by vendor and result.",
        counters.samples("inbox_deliveries"),
    )
    page.family(
        "slaengine_http_requests_total",
        "counter",
        "HTTP requests answered by this process, by method, route and status.",
        counters.samples("http_requests"),
    )
    page.family(
        "slaengine_worker_cycles_total",
        "counter",
        "Cycles of this process's worker thread (sources, advance, dispatch).",
        [({}, counters.get("worker_cycles"))],
    )
    page.family(
        "slaengine_worker_failures_total",
        "counter",
        "Cycles of this process's worker thread that failed (it starts again).",
        [({}, counters.get("worker_failures"))],
    )
    page.family(
        "slaengine_worker_events_total",
        "counter",
        "Events this process's worker read from sources, by outcome (stored, rejected).",
        counters.samples("worker_events"),
    )
    page.family(
        "slaengine_worker_notifications_total",
        "counter",
        "Outbox rows this process's worker queued, delivered, and failed to deliver "
        "(an attempt that failed, or the last one).",
        counters.samples("worker_notifications"),
    )
    page.family(
        "slaengine_notifications_delivered_total",
        "counter",
        "Outbox rows delivered to their recipient (including those pruned since).",
        [({}, state.outbox.get("delivered", 0) + state.pruned.get("delivered", 0))],
    )
    page.family(
        "slaengine_outbox_rows",
        "gauge",
        "Outbox rows by state (pending, failed, delivered, dead, cancelled, skipped).",
        [({"state": s}, state.outbox.get(s, 0)) for s in OUTBOX_STATES],
    )
    age = 0 if state.oldest_undelivered is None else max(0, state.now - state.oldest_undelivered)
    page.family(
        "slaengine_outbox_oldest_undelivered_age_seconds",
        "gauge",
        "Seconds since the oldest pending or failed outbox row was decided (0: none waiting).",
        [({}, age)],
    )
    page.family(
        "slaengine_open_clocks",
        "gauge",
        "Clocks running or paused as of each ticket's last evaluation.",
        [({}, state.open_clocks)],
    )
    page.family(
        "slaengine_clocks_overdue",
        "gauge",
        "Running clocks past their due instant, by group.",
        [({"group": c.group or ""}, c.overdue) for c in state.by_group],
    )
    page.family(
        "slaengine_clocks_due_soon",
        "gauge",
        "Running clocks not yet overdue that fall due within the window, by group.",
        [
            ({"group": c.group or "", "within": _window(window)}, count)
            for c in state.by_group
            for window, count in zip(state.windows, c.due_within, strict=True)
        ],
    )
    page.family(
        "slaengine_at_risk_clocks",
        "gauge",
        f"The at-risk queue by group: overdue, or due within {_window(state.at_risk_window)}.",
        [({"group": c.group or ""}, c.overdue + c.due_within[0]) for c in state.at_risk],
    )
    return page.text()


__all__ = ["CONTENT_TYPE", "Counters", "StateFigures", "render"]
