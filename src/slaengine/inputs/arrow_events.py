"""Arrow record batches straight into events: columns checked and shaped in Arrow, tuples zipped.

A row is taken here when Arrow can tell, column by column, that it is a
canonical event (the rows :func:`~slaengine.event_fastpath.canonical_values`
takes, less a few it leaves to the per-row path: tags as text, fields that
are not a plain JSON object, text scores, non-ASCII channels). The event's
fields are then computed for all such rows at once with Arrow compute (type
by type: what a message keeps, what a status keeps ...), converted to Python
column by column and zipped into ``Event`` tuples without a Python call per
row. Timestamp columns are read as integer epoch seconds; text instants in the
usual form (``...Z`` or ``+HH:MM``) are parsed by Arrow and checked against
their digits. Every other row is left to the per-row path, which gives the
event or the problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from operator import itemgetter
from typing import Any, Final

from slaengine.event_fastpath import shared_names
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import (
    AUTHORS,
    EVENT_TYPES,
    MAX_YEAR,
    MIN_YEAR,
    PRIORITIES,
    STATUSES,
    Event,
)

# Epoch seconds of 1900-01-02T00:00:00Z and 2199-12-30T23:59:59Z: instants a day
# inside the accepted years, so the year is in range in any UTC offset.
_LOW: Final = -2_208_902_400
_HIGH: Final = 7_258_031_999
_UNITS: Final = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_TEXT_KEYS: Final = (
    "ticket", "type", "id", "channel", "priority", "status", "customer", "group", "assignee",
    "author", "agent",
)  # fmt: skip
# An instant of the usual form: a date, a valid time of day, "Z" or an offset of hours
# and minutes (less than a day, as Python's offsets are).
_INSTANT: Final = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9](Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# Printable ASCII, whose str.lower and str.strip Arrow's ASCII kernels match.
_ASCII: Final = r"^[ -~]*$"
_VISIBLE: Final = r"[!-~]"
_new_event = partial(tuple.__new__, Event)


def arrow_events(table: Any, numbers: Sequence[int]) -> tuple[list[Event], list[int]] | None:
    """The events of a record batch's canonical rows (line ``numbers``), in row order, and
    the indices of the other rows; ``None`` when no row can be taken here."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.num_rows
    columns = _text_columns(table, pa, pc)
    at = _epoch_seconds(table, pa, pc)
    if columns is None or at is None or columns["ticket"] is None or columns["type"] is None:
        return None
    kind = columns["type"]

    def text(key: str) -> Any:
        found = columns[key]
        return found if found is not None else pa.nulls(rows, pa.string())

    def absent(key: str) -> Any:
        found = columns[key]
        return pc.is_null(found) if found is not None else pa.array([True] * rows)

    def among(key: str, values: Sequence[str]) -> Any:
        return pc.fill_null(pc.is_in(text(key), value_set=pa.array(values)), False)

    def typed(name: str) -> Any:
        return pc.fill_null(pc.equal(kind, name), False)

    message, status, created, update, csat = map(
        typed, ("message", "status", "created", "update", "csat")
    )
    tags, tags_ok = _tags(table, pa, pc)
    fields_text = _fields_text(table, pa, pc)
    plain = tags_ok if fields_text is not None else pc.and_(tags_ok, _no_cells(table, "fields", pa))
    channel = text("channel")
    ascii_channel = pc.or_(
        absent("channel"), pc.fill_null(pc.match_substring_regex(channel, _ASCII), False)
    )
    public = _public(table, pa, pc)
    score = _scores(table, pa, pc)
    message_ok = pc.and_(among("author", AUTHORS), pc.is_valid(public))
    created_ok = pc.and_(
        pc.and_(
            pc.fill_null(pc.match_substring_regex(channel, _VISIBLE), False),
            among("priority", PRIORITIES),
        ),
        pc.and_(
            pc.or_(absent("status"), among("status", STATUSES)),
            pc.or_(absent("author"), among("author", AUTHORS)),
        ),
    )
    something = pc.invert(
        pc.and_(
            pc.and_(pc.and_(absent("channel"), absent("priority")), pc.is_null(tags)),
            pc.and_(absent("customer"), pc.and_(absent("group"), absent("assignee"))),
        )
    )
    if fields_text is not None:
        something = pc.or_(something, pc.is_valid(fields_text))
    update_ok = pc.and_(pc.or_(absent("priority"), among("priority", PRIORITIES)), something)
    attributes = pc.and_(pc.and_(plain, ascii_channel), pc.or_(created, update))
    ok = pc.or_(
        pc.or_(pc.and_(message, message_ok), pc.and_(status, among("status", STATUSES))),
        pc.or_(
            pc.and_(attributes, pc.if_else(created, created_ok, update_ok)),
            pc.and_(csat, pc.is_valid(score)),
        ),
    )
    ok = pc.fill_null(pc.and_(ok, pc.and_(pc.is_valid(columns["ticket"]), pc.is_valid(at))), False)
    slow: list[int] = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    if len(slow) == rows:
        return [], slow
    nulls = pa.nulls(rows, pa.string())
    either = pc.or_(created, update)
    fields = [
        columns["ticket"],
        at,
        kind,
        text("id"),
        pc.if_else(either, pc.ascii_lower(channel), nulls),
        pc.if_else(either, text("priority"), nulls),
        pc.if_else(
            created, pc.coalesce(text("status"), "new"), pc.if_else(status, text("status"), nulls)
        ),
        pc.if_else(either, text("customer"), nulls),
        pc.if_else(either, text("group"), nulls),
        pc.if_else(either, text("assignee"), nulls),
        pc.if_else(either, tags, pa.nulls(rows, tags.type)),
        pc.if_else(either, fields_text, nulls) if fields_text is not None else nulls,
        pc.if_else(pc.or_(message, created), text("author"), nulls),
        pc.if_else(message, public, True),
        pc.if_else(message, text("agent"), nulls),
        pc.if_else(csat, score, pa.nulls(rows, pa.float64())),
    ]
    taken = range(rows)
    if slow:
        fields = [pc.filter(f, ok) for f in fields]
        taken = pc.indices_nonzero(ok).to_pylist()
    # Line numbers stay Python's: the rows taken pick theirs.
    seqs = list(numbers) if not slow else list(map(numbers.__getitem__, taken))
    tag_tuples, _ = _sparse(fields[10], tuple, pc)
    maps, some_maps = _sparse(fields[11], _fields_map, pc)
    # Repeated words come out once per batch, from the column's dictionary: the
    # vocabularies' own strings, names through the table the JSON Lines path uses, and
    # each ticket once per batch (a string of its own per row would take as much memory
    # again as the rest of the event, and cost more time to make than the dictionary).
    instant, ids, publics, scores = (fields[i].to_pylist() for i in (1, 3, 13, 15))
    ticket, kinds, channels, priorities, statuses, customers, groups, assignees, authors, agents = (
        _coded(fields[i], words, pc)
        for i, words in (
            (0, list), (2, _KINDS), (4, shared_names), (5, _PRIORITIES), (6, _STATUSES),
            (7, list), (8, shared_names), (9, shared_names), (12, _AUTHORS), (14, shared_names),
        )
    )  # fmt: skip
    events = list(
        map(
            _new_event,
            zip(
                ticket,
                instant,
                kinds,
                seqs,
                seqs,
                ids,
                channels,
                priorities,
                statuses,
                customers,
                groups,
                assignees,
                tag_tuples,
                maps,
                authors,
                publics,
                agents,
                scores,
                strict=True,
            ),
        )
    )
    if any(m is _NOT_PLAIN for m in some_maps):
        # Fields that are not a plain JSON object: those rows take the per-row path.
        slow = sorted(
            [*slow, *(row for row, m in zip(taken, maps, strict=True) if m is _NOT_PLAIN)]
        )
        events = [event for event in events if event.fields is not _NOT_PLAIN]
    return events, slow


# Each vocabulary's words (and no value) mapped to themselves: the shared strings.
_KINDS: Final[dict[str | None, str | None]] = {kind: kind for kind in (*EVENT_TYPES, None)}
_PRIORITIES: Final = {word: word for word in (*PRIORITIES, None)}
_STATUSES: Final = {word: word for word in (*STATUSES, None)}
_AUTHORS: Final = {word: word for word in (*AUTHORS, None)}


def _coded(column: Any, words: Any, pc: Any) -> list[Any]:
    # A text column's cells as Python strings, one string per distinct value: the
    # dictionary's words (through ``words``: a vocabulary's table, or a function of the
    # list of them), then each row's word by its code (small integers, made at no cost).
    coded = pc.dictionary_encode(column)
    found = coded.dictionary.to_pylist()
    found = [words.get(w, w) for w in found] if isinstance(words, dict) else words(found)
    found.append(None)
    codes = coded.indices
    if codes.null_count:
        codes = pc.fill_null(codes, len(found) - 1)
    if len(codes) < 2:
        return list(map(found.__getitem__, codes.to_pylist()))
    # One C call picks every row's word (an itemgetter of one code gives no tuple).
    return list(itemgetter(*codes.to_pylist())(found))


def _sparse(column: Any, convert: Any, pc: Any) -> tuple[list[Any], list[Any]]:
    # ``convert`` of each cell of an Arrow column, None where it is empty, and the
    # converted cells alone; only the cells that are there are visited (tags and
    # fields are rare).
    rows = len(column)
    found: list[Any] = [None] * rows
    if column.null_count == rows:
        return found, []
    where = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
    converted = list(map(convert, column.drop_null().to_pylist()))
    for row, value in zip(where, converted, strict=True):
        found[row] = value
    return found, converted


def _tags(table: Any, pa: Any, pc: Any) -> tuple[Any, Any]:
    # The tags column where it is a list of strings (and True where its row can be taken:
    # no tags, or a list without empty items); otherwise no row with tags is taken.
    rows = table.num_rows
    if "tags" not in table.schema.names:
        return pa.nulls(rows, pa.list_(pa.string())), pa.array([True] * rows)
    column = table.column("tags")
    kind = column.type
    if not (pa.types.is_list(kind) and pa.types.is_string(kind.value_type)):
        return pa.nulls(rows, pa.list_(pa.string())), pc.is_null(column)
    flat = pc.list_flatten(column)
    holes = pc.filter(pc.list_parent_indices(column), pc.is_null(flat)).to_pylist()
    ok = pa.array([True] * rows)
    if holes:
        ok = pc.invert(pc.is_in(pa.array(range(rows), pa.int64()), value_set=pa.array(holes)))
    return column, ok


def _fields_text(table: Any, pa: Any, pc: Any) -> Any:
    # A text fields column with "" made null (an empty cell); None for other types.
    if "fields" not in table.schema.names:
        return None
    column = _plain_text(table.column("fields"), pa)
    if column is None:
        return None
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


# Plain field values (as event_fastpath keeps them) and the mark of fields that are not.
_PLAIN: Final = frozenset({str, int, bool, type(None)})
_NOT_PLAIN: Final[Any] = ReadOnlyMap()


def _fields_map(text: str) -> Any:
    # The fields of a JSON object text as the per-row path reads them (the json module),
    # or _NOT_PLAIN for anything else.
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_PLAIN
    if type(value) is not dict or not all(type(v) in _PLAIN for v in value.values()):
        return _NOT_PLAIN
    return ReadOnlyMap(value)


def _plain_text(column: Any, pa: Any) -> Any:
    # A text column as plain ``string``: large strings, string views and dictionaries of
    # text (pandas' categoricals) cast to it; None for a column of another type.
    kind = column.type
    if pa.types.is_dictionary(kind):
        return column.cast(pa.string()) if _is_text(kind.value_type, pa) else None
    if pa.types.is_string(kind):
        return column
    return column.cast(pa.string()) if _is_text(kind, pa) else None


def _is_text(kind: Any, pa: Any) -> bool:
    views = getattr(pa.types, "is_string_view", None)  # pyarrow 16 and later
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (views is not None and views(kind))
    )


def _text_columns(table: Any, pa: Any, pc: Any) -> dict[str, Any] | None:
    # The text columns with "" made null (an empty cell is an absent key); None for a
    # present column of another type, which only the per-row path reads.
    found: dict[str, Any] = {}
    names = table.schema.names
    for key in _TEXT_KEYS:
        column = table.column(key) if key in names else None
        if column is None or column.null_count == len(column):
            found[key] = None
            continue
        column = _plain_text(column, pa)
        if column is None:
            return None
        found[key] = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
    return found


def _epoch_seconds(table: Any, pa: Any, pc: Any) -> Any:
    # Each row's instant in epoch seconds, null where the per-row path must read it.
    if "at" not in table.schema.names:
        return None
    column = table.column("at")
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return None  # naive: every row is refused with its own problem
        unit = _UNITS[kind.unit]
        raw = column.cast(pa.int64())
        seconds = pc.divide(raw, unit)
        whole = pc.equal(pc.multiply(seconds, unit), raw)
    elif (text := _plain_text(column, pa)) is not None:
        return _text_seconds(text, pa, pc)
    else:
        return None
    inside = pc.and_(pc.greater_equal(seconds, _LOW), pc.less_equal(seconds, _HIGH))
    return pc.if_else(pc.fill_null(pc.and_(whole, inside), False), seconds, None)


def _text_seconds(column: Any, pa: Any, pc: Any) -> Any:
    # Instants of the usual form: the date and time by Arrow's strptime, the date
    # checked against its digits (strptime rolls 02-30 over into March), the offset
    # from its digits, the year (the local one, as parse_instant checks it) too.
    usual = pc.fill_null(pc.match_substring_regex(column, _INSTANT), False)
    text = pc.if_else(usual, column, "2000-01-01T00:00:00Z")

    def number(start: int, stop: int) -> Any:
        return pc.utf8_slice_codeunits(text, start, stop).cast(pa.int64())

    core = pc.utf8_slice_codeunits(text, 0, 19)
    parsed = pc.strptime(core, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    year = number(0, 4)
    exists = pc.fill_null(pc.equal(pc.day(parsed), number(8, 10)), False)
    zone = pc.if_else(pc.ends_with(text, "Z"), "+00:00", pc.utf8_slice_codeunits(text, 19, 25))
    east = pc.add(
        pc.multiply(pc.utf8_slice_codeunits(zone, 1, 3).cast(pa.int64()), 3600),
        pc.multiply(pc.utf8_slice_codeunits(zone, 4, 6).cast(pa.int64()), 60),
    )
    offset = pc.if_else(pc.starts_with(zone, "-"), pc.negate(east), east)
    seconds = pc.subtract(parsed.cast(pa.int64()), offset)
    keep = pc.and_(
        pc.and_(usual, exists),
        pc.and_(pc.greater_equal(year, MIN_YEAR), pc.less_equal(year, MAX_YEAR)),
    )
    return pc.if_else(keep, seconds, None)


def _no_cells(table: Any, key: str, pa: Any) -> Any:
    # True where the row has no cell under ``key`` (tags and fields take the per-row path).
    rows = table.num_rows
    if key not in table.schema.names:
        return pa.array([True] * rows)
    import pyarrow.compute as pc

    return pc.is_null(table.column(key))


def _public(table: Any, pa: Any, pc: Any) -> Any:
    # A boolean column's cells, True where empty; null where another type needs the per-row path.
    if "public" not in table.schema.names:
        return pa.array([True] * table.num_rows)
    column = table.column("public")
    if pa.types.is_boolean(column.type):
        return pc.fill_null(column, True)
    if column.null_count == len(column):
        return pa.array([True] * table.num_rows)
    return pa.nulls(table.num_rows, pa.bool_())


def _scores(table: Any, pa: Any, pc: Any) -> Any:
    # Finite float scores; null elsewhere (other types and empty cells: the per-row path).
    if "score" not in table.schema.names:
        return pa.nulls(table.num_rows, pa.float64())
    column = table.column("score")
    if not pa.types.is_float64(column.type):
        return pa.nulls(table.num_rows, pa.float64())
    return pc.if_else(pc.fill_null(pc.is_finite(column), False), column, None)


__all__ = ["arrow_events"]
