"""Evaluation results as JSON-ready dicts; instants in UTC ending in ``Z``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from slaengine.calendar import format_utc
from slaengine.clocks import ClockResult
from slaengine.engine import TicketResult


def _instant(t: int | None) -> str | None:
    return None if t is None else format_utc(t)


def clock_to_dict(clock: ClockResult) -> dict[str, Any]:
    """One clock instance as a JSON-ready dict."""
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


__all__ = ["clock_to_dict", "json_lines", "ticket_to_dict"]
