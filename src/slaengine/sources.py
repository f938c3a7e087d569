"""Event sources: where the live worker pulls ticket events from.

A source is anything with a ``name`` and a ``read(cursor, limit)`` method. The
worker stores the cursor it gets back in the same transaction as the events, so
after a crash or restart it asks again from the last stored cursor: no event is
lost and none is ingested twice. Plugins contribute sources through
``slaengine_register_sources``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One event as a source read it: canonical fields, and where it came from.

    ``origin`` names the place for error messages, e.g. ``"events/2025-12-01.jsonl:17"``.
    ``payload`` is a canonical event mapping (docs/events.md); a source that reads
    vendor payloads converts them first. ``problem`` is set instead when the
    source could not read the record at all (say, a line that is not JSON); the
    worker reports it and goes on. ``raw`` is then the record's own text (or
    bytes), which the rejects table keeps (up to 64 KiB) so nothing is lost.
    """

    origin: str
    payload: Mapping[str, Any] | None
    problem: str | None = None
    raw: bytes | str | None = None


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """What one ``read`` returned: records in order and the cursor after them."""

    records: Sequence[SourceRecord] = field(default_factory=tuple)
    cursor: str | None = None


@runtime_checkable
class EventSource(Protocol):
    """A place the live worker pulls events from."""

    @property
    def name(self) -> str:
        """The source's name: the key its cursor is stored under."""
        ...

    def read(self, cursor: str | None, limit: int) -> SourceBatch:
        """At most ``limit`` records after ``cursor`` (``None``: from the beginning).

        Must not skip or repeat records for a given cursor: the worker stores the
        returned cursor only together with the records it ingested. An empty
        batch means nothing new for now; return the same cursor then.
        """
        ...


__all__ = ["EventSource", "SourceBatch", "SourceRecord"]
