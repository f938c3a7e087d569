"""Spike alerts: a channel's volume in a sliding window against its recent baseline.

Social customer care watches for sudden surges (an outage, a post going viral):
per channel, the number of new tickets or of customer messages in the last
``window`` is compared with what the ``baseline`` period before it leads one to
expect for a window that long. Pure: counts in, a verdict out; the live engine
counts and remembers which spikes are under way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

NEW_TICKETS: Final = "new_tickets"
CUSTOMER_MESSAGES: Final = "customer_messages"
MEASURES: Final = (NEW_TICKETS, CUSTOMER_MESSAGES)


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """When a channel's volume is a spike, and whom to tell.

    A window with at least ``min_count`` items and at least ``ratio`` times the
    baseline's average per window is a spike. ``channels`` ``None`` watches every
    channel, each on its own.
    """

    name: str
    measure: str
    window: int  # seconds
    baseline: int  # seconds before the window that set what is expected
    ratio: float
    min_count: int
    channels: frozenset[str] | None = None
    notify: tuple[str, ...] = ()

    def watches(self, channel: str) -> bool:
        """Whether this rule looks at ``channel``."""
        return self.channels is None or channel in self.channels

    def expected(self, baseline_count: int) -> float:
        """How many items a window is expected to hold, from the baseline period's count."""
        return baseline_count * self.window / self.baseline

    def is_spike(self, count: int, baseline_count: int) -> bool:
        """Whether ``count`` items in the window are a spike against ``baseline_count``."""
        return count >= self.min_count and count >= self.ratio * self.expected(baseline_count)


@dataclass(frozen=True, slots=True)
class Volume:
    """One channel's count in the window and in the baseline period before it."""

    channel: str
    count: int
    baseline_count: int


__all__ = ["CUSTOMER_MESSAGES", "MEASURES", "NEW_TICKETS", "SpikeRule", "Volume"]
