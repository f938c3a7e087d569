"""Inspecting stored rejects: pages newest first with filters, one by id, their JSON form.

Mixed into :class:`~slaengine.live.store.Store`. A reject is a dead letter:
listed and inspected here, replayed with a corrected body through
:meth:`~slaengine.live.LiveEngine.replay`, pruned by age
(:mod:`slaengine.live.retention`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slaengine.live.eventstore import (
    BODY_COLUMNS,
    REJECT_COLUMNS,
    RejectRow,
    is_row_id,
    reject_row,
)
from slaengine.live.sql import StoreSql
from slaengine.live.text import BODY_LIMIT, RAW_LIMIT, storable
from slaengine.notifications import iso

if TYPE_CHECKING:
    from slaengine.live.engine import IngestReport


class NothingToReplay(ValueError):
    """A reject that kept no event object to send again: a corrected one must be given."""


class RejectQueries(StoreSql):
    """The store's statements that read the rejects table."""

    def reject_page(
        self,
        limit: int = 100,
        before: int | None = None,
        origin: str | None = None,
        since: int | None = None,
        until: int | None = None,
        replayed: bool | None = None,
        body: bool = False,
    ) -> list[RejectRow]:
        """Rejects newest first: with an id below ``before`` (the next page), ``origin``
        starting with the text given, received in ``[since, until)``, replayed or not.

        ``body`` also reads the request body each kept (an export in full); pages over
        HTTP leave it out, so a page stays small.
        """
        where: list[str] = []
        params: list[Any] = []
        if before is not None:
            where.append("id < ?")
            params.append(before)
        if origin:
            # substr, not LIKE: an origin holds % and _ as often as anything else. Origins
            # are stored with NUL written as an escape; so is the prefix looked for.
            prefix = storable(origin)
            where.append("substr(origin, 1, ?) = ?")
            params.extend((len(prefix), prefix))
        if since is not None:
            where.append("received >= ?")
            params.append(since)
        if until is not None:
            where.append("received < ?")
            params.append(until)
        if replayed is not None:
            where.append("replayed IS NOT NULL" if replayed else "replayed IS NULL")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        columns = f"{REJECT_COLUMNS}, {BODY_COLUMNS}" if body else REJECT_COLUMNS
        rows = self._all(
            f"SELECT {columns} FROM rejects{clause} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [reject_row(row) for row in rows]

    def reject(self, reject_id: int) -> RejectRow | None:
        """The stored reject with this id (with the request body it kept), or ``None``."""
        if not is_row_id(reject_id):
            return None
        rows = self._all(
            f"SELECT {REJECT_COLUMNS}, {BODY_COLUMNS} FROM rejects WHERE id = ?", (reject_id,)
        )
        return reject_row(rows[0]) if rows else None


def stored_event(row: RejectRow) -> dict[str, Any]:
    """The refused event as it was sent, to replay unchanged (after a policy fix, say).

    Raises :class:`NothingToReplay` when the reject kept no JSON object: a line
    that could not be read, or a value that was no event.
    """
    payload, _ = stored_payload(row.reject.payload)
    if not isinstance(payload, dict):
        raise NothingToReplay(
            f"reject {row.id} kept no event to send again ({row.reject.problem}); "
            "send the corrected event"
        )
    return payload


def stored_payload(stored: str | None) -> tuple[Any, str | None]:
    """The stored payload as the value it is, or ``(None, text)`` when the text is no JSON
    (an event with no JSON form is stored as its Python text)."""
    if stored is None:
        return None, None
    try:
        return json.loads(stored), None
    except (ValueError, RecursionError):
        return None, stored


def reject_dict(row: RejectRow, body: bool = False) -> dict[str, Any]:
    """A stored reject as JSON: ``payload`` the event read as JSON (an object),
    ``payload_text`` the stored text of one that had no JSON form, ``raw`` the text of an
    input that could not be read, ``raw_size`` its bytes, ``replayed`` when it was.

    With ``body`` (one reject, read with its body) also the request body an inbox
    translated the event from: ``body``, ``body_type``, ``body_size``, ``body_complete``.
    """
    reject = row.reject
    whole = reject.raw_size is None or reject.raw_size <= RAW_LIMIT
    payload, payload_text = stored_payload(reject.payload)
    out = {
        "id": row.id,
        "received": iso(row.received),
        "origin": reject.origin,
        "problem": reject.problem,
        "payload": payload,
        "payload_text": payload_text,
        "raw": reject.raw,
        "raw_size": reject.raw_size,
        "raw_complete": whole if reject.raw is not None else None,
        "replayed": iso(row.replayed),
    }
    if body:
        size = reject.body_size
        out.update(
            body=reject.body,
            body_type=reject.body_type,
            body_size=size,
            body_complete=None if reject.body is None else size is None or size <= BODY_LIMIT,
        )
    return out


def replay_origin(label: str, reject_id: int, place: object) -> str:
    """The origin of an event stored by replaying reject ``reject_id``."""
    return f"{label} replay of reject {reject_id} {place}"


def replay_answer(reject_id: int, report: IngestReport) -> Mapping[str, Any]:
    """The totals of a replay and, per event, its outcome."""
    return {
        "reject": reject_id,
        "replayed": not report.rejected,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": len(report.rejected),
        "events": [outcome.to_dict() for outcome in report.outcomes],
    }


__all__ = [
    "NothingToReplay",
    "RejectQueries",
    "reject_dict",
    "replay_answer",
    "replay_origin",
    "stored_event",
    "stored_payload",
]
