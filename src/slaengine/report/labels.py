"""Names and durations as the audit reports show them to people (terminal and HTML alike)."""

from __future__ import annotations

from typing import Final

from slaengine.metric_names import BUILTIN_LABELS, Labels
from slaengine.metric_names import metric_label as _metric_label

#: How the reports name the built-in metrics.
METRIC_LABELS: Final = BUILTIN_LABELS
# Units of readable_duration, largest first; a "d" is 24 hours, whatever the calendar.
_UNITS: Final = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def metric_label(metric: str, labels: Labels | None = None) -> str:
    """A metric's name for people: a built-in's, its definition's ``labels`` entry, or
    the name with spaces for underscores (see :mod:`slaengine.metric_names`). An internal
    agreement's metric (``tier2-ola/resolution``) reads ``tier2-ola: Resolution``; a
    ``labels`` entry under that key is its whole name (the agreement's own label, see
    :func:`slaengine.metric_names.labels_of`, or the audit document's ``metric_labels``)."""
    agreement, _, name = metric.rpartition("/")
    if not agreement:
        return _metric_label(name, labels)
    whole = labels.get(metric) if labels else None
    return whole or f"{agreement}: {_metric_label(name, labels)}"


def readable_duration(seconds: float | None, empty: str = "-") -> str:
    """``seconds`` in its two largest units, rounded on the smaller: ``3d 4h``, ``4h 30m``.

    A ``d`` is 24 hours (of whatever time is measured: 24 business hours are
    three 8-hour working days), so a reader never has to divide ``2017h``.
    ``None`` gives ``empty``.
    """
    if seconds is None:
        return empty
    sign = "-" if seconds < 0 else ""
    whole = abs(round(seconds))
    for index, (name, size) in enumerate(_UNITS[:-1]):
        small_name, small = _UNITS[index + 1]
        # Round to the smaller unit first, so 1d 23h59m gives 2d, not 1d 24h.
        rounded = round(whole / small) * small
        if rounded >= size:
            big, rest = divmod(rounded, size)
            rest //= small
            return sign + f"{big}{name}" + (f" {rest}{small_name}" if rest else "")
    return f"{sign}{whole}s"


__all__ = ["METRIC_LABELS", "metric_label", "readable_duration"]
