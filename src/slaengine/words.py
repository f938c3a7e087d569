"""Counted nouns for messages people read: ``1 ticket``, ``2 tickets``."""

from __future__ import annotations

# Nouns whose plural is not the singular plus "s".
_IRREGULAR = {"policy": "policies", "entry": "entries", "match": "matches", "was": "were"}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` (with thousands separators) and the noun in the right number."""
    if count == 1:
        return f"1 {singular}"
    word = plural_form or _IRREGULAR.get(singular, singular + "s")
    return f"{count:,} {word}"


__all__ = ["plural"]
