"""Counted nouns for the commands' messages: ``1 ticket``, ``2 tickets``.

The plugin's own: slaengine's message helpers are not its public API.
"""

from __future__ import annotations


def counted(number: int, word: str, words: str | None = None) -> str:
    """``number`` and the noun in the right number (``words``: a plural not ``word`` + s)."""
    return f"{number} {word if number == 1 else words or word + 's'}"


__all__ = ["counted"]
