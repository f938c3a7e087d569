"""Durations as written in policies (``90m``, ``2h``, ``1h30m``, ``45s``, or whole minutes)."""

from __future__ import annotations

import re

_WORKING_DAYS = re.compile(r"^\s*(\d+)[\s_-]*(?:wd|working[\s_-]*days?)\s*$")
#: The longest duration (10,000 hours, over a year around the clock): a longer target
#: is a typing mistake, and would send the engine compiling calendars for centuries.
MAX_SECONDS = 10_000 * 3600
#: The most working days a target may give (about four years of working days).
MAX_WORKING_DAYS = 1_000
_PATTERN = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: object) -> int:
    """Seconds of a duration; raises ``ValueError`` with what was expected.

    A bare integer is whole minutes. Days are refused: in business time a "day"
    could mean 24 hours or one working day, so policies say hours instead.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 90m, 2h or 1h30m, got {value}")
    if isinstance(value, int):
        seconds = value * 60
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            seconds = int(text) * 60
        else:
            found = _PATTERN.match(text)
            if not text or found is None or not any(found.groups()):
                if re.search(r"\d\s*(d|day|days|w|wk|week|weeks)(?![a-z])", text):
                    raise ValueError(
                        f"'{value}': days and weeks are ambiguous in business time; "
                        "write hours, e.g. 16h for two 8-hour working days"
                    )
                raise ValueError(f"expected a duration like 90m, 2h or 1h30m, got '{value}'")
            hours, minutes, secs = (int(g) if g else 0 for g in found.groups())
            seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise ValueError(f"expected a duration like 90m, 2h or 1h30m, got {value!r}")
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero, got '{value}'")
    if seconds > MAX_SECONDS:
        raise ValueError(
            f"a duration may be at most {MAX_SECONDS // 3600:,}h, got '{str(value)[:40]}'"
        )
    return seconds


def parse_working_days(value: object) -> int | None:
    """The number of working days of a target like ``2 working days`` or ``2wd``; else ``None``.

    A working day is one open day of the metric's calendar; the policy loader turns
    it into business seconds once it knows the calendar.
    """
    if not isinstance(value, str):
        return None
    found = _WORKING_DAYS.match(value.lower())
    if found is None:
        return None
    days = int(found.group(1))
    if days <= 0:
        raise ValueError(f"a duration must be longer than zero, got '{value}'")
    if days > MAX_WORKING_DAYS:
        raise ValueError(
            f"a target may be at most {MAX_WORKING_DAYS:,} working days, got '{value[:40]}'"
        )
    return days


def format_duration(seconds: int) -> str:
    """Compact text for ``seconds`` (``1h30m``, ``-15m``, ``0s``), the inverse of parsing."""
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    text += f"{secs}s" if secs or not text else ""
    return sign + text


__all__ = [
    "MAX_SECONDS",
    "MAX_WORKING_DAYS",
    "format_duration",
    "parse_duration",
    "parse_working_days",
]
