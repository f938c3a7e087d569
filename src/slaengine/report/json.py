"""Evaluation results as JSON-ready dicts; instants in UTC ending in ``Z``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from slaengine.calendar import format_utc
from slaengine.clock_record import ClockRecord
from slaengine.clocks import ClockResult
from slaengine.engine import TicketResult


def _instant(t: int | None) -> str | None:
    return None if t is None else format_utc(t)


def record_to_dict(record: ClockRecord) -> dict[str, Any]:
    """A clock's record as the ``segments`` and ``adjustments`` of its JSON dict."""
    return {
        "segments": [
            {
                "from": format_utc(s.start),
                "to": format_utc(s.end),
                "counted": s.counted,
                "reason": s.reason,
                "seconds": s.seconds,
                "status": s.status,
                "event": s.event.type if s.event is not None else None,
                "line": s.event.line or None if s.event is not None else None,
                "rule": s.rule,
                "condition": s.condition,
            }
            for s in record.segments
        ],
        "adjustments": [
            {
                "rule": a.rule,
                "what": a.what,
                "before": _instant(a.before) if a.what == "due" else a.before,
                "after": _instant(a.after) if a.what == "due" else a.after,
                "status": a.status,
            }
            for a in record.adjustments
        ],
    }


def clock_to_dict(clock: ClockResult) -> dict[str, Any]:
    """One clock instance as a JSON-ready dict; with its record, also ``segments`` and
    ``adjustments``."""
    out = _clock_dict(clock)
    if clock.record is not None:
        out.update(record_to_dict(clock.record))
    return out


def _clock_dict(clock: ClockResult) -> dict[str, Any]:
    out = _clock_fields(clock)
    if clock.misses is not None:  # only under misses: per_customer_message
        out["misses"] = clock.misses
    return out


def _clock_fields(clock: ClockResult) -> dict[str, Any]:
    return {
        "metric": clock.metric,
        "instance": clock.instance,
        "state": clock.state,
        "start": _instant(clock.start),
        "due": _instant(clock.due),
        "stop": _instant(clock.stop),
        "stop_reason": clock.stop_reason,
        "elapsed_seconds": clock.elapsed,
        "target_seconds": clock.target,
        "remaining_seconds": clock.remaining,
        "paused_seconds": clock.paused,
        "priority": clock.priority,
        "calendar": clock.calendar,
        "pauses": [{"from": _instant(a), "to": _instant(b)} for a, b in clock.pauses],
        "agent": clock.agent,
        "alerts": [
            {"kind": a.kind, "level": a.level, "at": _instant(a.at), "notify": list(a.notify)}
            for a in clock.alerts
        ],
    }


def ticket_to_dict(result: TicketResult) -> dict[str, Any]:
    """One ticket's evaluation as a JSON-ready dict (``policy`` null when unmatched)."""
    state = result.state
    return {
        "ticket": result.ticket,
        "policy": result.policy.name if result.policy else None,
        "matched": result.matched,
        "channel": state.channel,
        "priority": state.priority,
        "status": state.status,
        "created": format_utc(state.created),
        "metrics": [clock_to_dict(clock) for clock in result.clocks],
    }


def json_lines(results: Iterable[TicketResult]) -> Iterator[str]:
    """JSON Lines text, one ticket per line, keys in a stable order."""
    for result in results:
        yield json.dumps(ticket_to_dict(result), ensure_ascii=False)


__all__ = ["clock_to_dict", "json_lines", "record_to_dict", "ticket_to_dict"]
