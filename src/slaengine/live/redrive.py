"""Redriving rejects in bulk: each one's stored event sent again, after a policy fix say.

A reject whose event was refused for a reason the policies decide (a custom
status not yet mapped) becomes valid once they change; a message queue's
dead-letter redrive sends such messages back all at once. Each reject is
replayed on its own (:meth:`~slaengine.live.LiveEngine.replay`, one
transaction each), so one that is still refused leaves the others be.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from slaengine.live.eventstore import AlreadyReplayed, RejectRow, UnknownReject
from slaengine.live.rejects import NothingToReplay, replay_origin, stored_event

if TYPE_CHECKING:
    from slaengine.live.engine import LiveEngine

REPLAYED: Final = "replayed"
REFUSED: Final = "refused"  # the stored event is still refused: fix it and replay it by hand
NO_EVENT: Final = "no_event"  # the reject kept no event (a line that was not JSON)
SKIPPED: Final = "skipped"  # replayed before, or pruned meanwhile


@dataclass(frozen=True, slots=True)
class Redriven:
    """What became of one reject in a redrive, and why when it was not replayed."""

    reject: int
    status: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {"reject": self.reject, "status": self.status, "reason": self.reason}


def redrive(
    engine: LiveEngine,
    rows: Iterable[RejectRow],
    now: int,
    label: str,
    quiet_before: int | None = None,
) -> list[Redriven]:
    """Replay each reject's stored event unchanged; what became of each, in order."""
    done = []
    for row in rows:
        if row.replayed is not None:
            done.append(Redriven(row.id, SKIPPED, "already replayed"))
            continue
        try:
            event = stored_event(row)
        except NothingToReplay:
            done.append(Redriven(row.id, NO_EVENT, row.reject.problem))
            continue
        record = (replay_origin(label, row.id, "stored event"), event, None)
        try:
            report = engine.replay(row.id, [record], now, quiet_before=quiet_before)
        except UnknownReject:  # another process pruned it meanwhile
            done.append(Redriven(row.id, SKIPPED, "pruned"))
            continue
        except AlreadyReplayed:  # another process replayed it meanwhile
            done.append(Redriven(row.id, SKIPPED, "already replayed"))
            continue
        if report.rejected:
            done.append(Redriven(row.id, REFUSED, report.rejected[0].problem))
        else:
            done.append(Redriven(row.id, REPLAYED))
    return done


def redrive_answer(results: list[Redriven]) -> dict[str, Any]:
    """Counts per outcome and every reject's outcome, as JSON."""
    counts = dict.fromkeys((REPLAYED, REFUSED, NO_EVENT, SKIPPED), 0)
    for result in results:
        counts[result.status] += 1
    return {**counts, "rejects": [result.to_dict() for result in results]}


__all__ = [
    "NO_EVENT",
    "REFUSED",
    "REPLAYED",
    "SKIPPED",
    "Redriven",
    "redrive",
    "redrive_answer",
]
