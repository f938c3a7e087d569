"""Text from input files made safe to print: control characters shown as escapes.

Ticket ids, channel names, policy names and the keys quoted in error messages
come from files someone else wrote. Printed raw, ``\\x1b[2J`` clears the
reader's terminal, a carriage return overwrites what came before it, and a
right-to-left override reorders what follows. :func:`printable` turns each
such character into a visible escape; ordinary text, tabs included, is
returned as it is.
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls but tab, DEL and C1 controls, the line and paragraph separators,
# bidirectional embeddings, overrides and isolates, and lone surrogates (which
# cannot even be encoded for output).
_UNSAFE: Final = re.compile(
    "[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]"
)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character as a visible escape (``\\x1b``, ``\\u202e``)."""
    if text.isascii() and text.isprintable():
        return text  # the usual case, at C speed
    return _UNSAFE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """:func:`printable` of each line of ``text``, its line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def one_line(data: bytes | str, limit: int = 200) -> str:
    """Text from outside (a receiver's answer) for one log line: whitespace runs as one
    space, control characters escaped, at most ``limit`` characters (``…`` marks a cut)."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    text = printable(" ".join(data.split()))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


__all__ = ["one_line", "printable", "printable_lines"]
