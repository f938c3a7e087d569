"""Arrow record batches straight into events: rows checked in Arrow, words converted once.

A row is taken here when Arrow can tell, column by column, that it is a
canonical event (the rows :func:`~slaengine.event_fastpath.canonical_values`
takes, less a few it leaves to the per-row path: tags as text, fields that are
not text, text scores). Each text column is read as dictionary codes (a
Parquet dictionary column as it is, other text encoded once per batch): what
the per-row path checks of a value (one of a vocabulary, not blank, a plain
JSON object) and makes of it (lower case, a shared string, a read-only map) is
done once per distinct word in Python, then spread to the rows by their codes
in Arrow (:mod:`slaengine.inputs.arrow_words`). A text column goes on as its
rows' codes (four bytes a row) with what each word makes, numbers and booleans
as Python lists, and one loop makes the events in row order, each row looking up
only the fields its type sets
(:func:`~slaengine.inputs.event_columns.column_events`, compiled).
Timestamp columns are read as integer epoch seconds; text instants in the
usual form (``...Z`` or ``+HH:MM``) are parsed by Arrow and checked against
their digits. Every other row is left to the per-row path, which gives the
event or the problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from slaengine.event_fastpath import shared_name
from slaengine.inputs.arrow_words import (
    WordCache,
    Words,
    code_bytes,
    coded,
    dense_values,
    is_text,
    no_words,
    plain_text,
    row_flags,
    row_values,
    true_rows,
)
from slaengine.inputs.event_columns import KINDS, Coded, column_events
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
# The text keys read as codes (ids are read as they are: one per row, nothing to share).
_WORD_KEYS: Final = (
    "ticket", "type", "channel", "priority", "status", "customer", "group", "assignee",
    "author", "agent", "fields",
)  # fmt: skip
# An instant of the usual form: a date, a valid time of day, "Z" or an offset of hours
# and minutes (less than a day, as Python's offsets are).
_INSTANT: Final = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9](Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# Each vocabulary's words mapped to themselves: the shared strings events hold.
_PRIORITIES: Final = {word: word for word in PRIORITIES}
_STATUSES: Final = {word: word for word in STATUSES}
_AUTHORS: Final = {word: word for word in AUTHORS}


def arrow_events(
    table: Any, numbers: Sequence[int], cache: WordCache | None = None
) -> tuple[list[Event], list[int]] | None:
    """The events of a record batch's canonical rows (line ``numbers``), in row order, and
    the indices of the other rows; ``None`` when no row can be taken here.

    ``cache`` keeps the text columns' words for the next batch of the same read.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.num_rows
    columns = _word_columns(table, cache if cache is not None else WordCache())
    ids = _id_column(table, pa, pc)
    at = _epoch_seconds(table, pa, pc)
    if columns is None or ids is None or at is None:
        return None
    ticket, kind = columns["ticket"], columns["type"]
    if not pc.any(ticket.present).as_py() or not pc.any(kind.present).as_py():
        return None  # no ticket or no type: every row is a problem of the per-row path
    kinds = {name: kind.flags(name, name.__eq__, False) for name in EVENT_TYPES}
    tags, tags_ok = _tags(table, pa, pc)
    public = _public(table, pa, pc)
    score = _scores(table, pa, pc)
    ok = _canonical(table, columns, kinds, tags, tags_ok, public, score)
    ok = _false_where_null(_both(ok, ticket.present, pc.is_valid(at)))  # never a lost row
    slow: list[int] = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    if len(slow) == rows:
        return [], slow
    made = column_events(
        row_flags(ok),
        _coded(kind, "kind", _kind_number, -1),
        *_numbering(numbers),
        _coded(ticket, "word", str),
        dense_values(at, 0),
        row_values(ids),
        _coded(columns["channel"], "channel", _channel),
        _coded(columns["priority"], "priority", _vocabulary(_PRIORITIES)),
        _coded(columns["status"], "status", _vocabulary(_STATUSES)),
        _coded(columns["customer"], "word", str),
        _coded(columns["group"], "name", shared_name),
        _coded(columns["assignee"], "name", shared_name),
        _tag_tuples(tags, pc),
        _coded(columns["fields"], "fields", _fields_map),
        _coded(columns["author"], "author", _vocabulary(_AUTHORS)),
        dense_values(public, True),
        _coded(columns["agent"], "name", shared_name),
        row_values(pc.filter(score, pc.and_(kinds["csat"], ok))),
    )
    return made, slow


def _coded(words: Words, name: str, make: Callable[[str], Any], absent: Any = None) -> Coded:
    # A column as column_events reads it: make of each word (name names make), absent
    # where a row has none.
    return Coded(code_bytes(words.codes), words.vocabulary.table(name, make, absent))


def _kind_number(word: str) -> int:
    # An event type's place in KINDS; -1 for any other word (its rows are not taken).
    return KINDS.index(word) if word in KINDS else -1


def _numbering(numbers: Sequence[int]) -> tuple[int, list[int] | None]:
    # column_events' line numbers: the first of consecutive ones, else each row's.
    if type(numbers) is range and numbers.step == 1:
        return numbers.start, None
    return 0, list(numbers)


def _tag_tuples(tags: Any, pc: Any) -> list[Any]:
    # Each row's tags as a tuple, None where it has none (a list column with few cells).
    found: list[Any] = [None] * len(tags)
    if tags.null_count < len(tags):
        present = pc.is_valid(tags)
        lists = pc.filter(tags, present).to_pylist()
        for row, value in zip(true_rows(present), lists, strict=True):
            found[row] = tuple(value)
    return found


def _canonical(
    table: Any,
    columns: dict[str, Words],
    kinds: dict[str, Any],
    tags: Any,
    tags_ok: Any,
    public: Any,
    score: Any,
) -> Any:
    # True where a row is a canonical event of its type, as far as its cells other than the
    # ticket and the instant tell (canonical_epoch_values' checks, word by word).
    import pyarrow.compute as pc

    channel, priority, status, author, fields = (
        columns[key] for key in ("channel", "priority", "status", "author", "fields")
    )

    def among(words: Words, vocabulary: dict[str, str], absent: bool = False) -> Any:
        return words.flags(f"in {next(iter(vocabulary))}", vocabulary.__contains__, absent)

    if _is_text_column(table, "fields"):
        # Text fields: a plain JSON object (one reading per distinct text) or none.
        maps = fields.vocabulary.made_of("fields", _fields_map)
        plain_fields = fields.spread([m is not _NOT_PLAIN for m in maps], True)
    else:  # fields of another type: rows with one take the per-row path
        plain_fields = _no_cells(table, "fields")
    created_ok = _both(
        channel.flags("visible", _visible, False),
        among(priority, _PRIORITIES),
        among(status, _STATUSES, absent=True),
        among(author, _AUTHORS, absent=True),
    )
    something = _either(
        channel.present,
        priority.present,
        pc.is_valid(tags),
        *(columns[key].present for key in ("customer", "group", "assignee", "fields")),
    )
    update_ok = _both(among(priority, _PRIORITIES, absent=True), something)
    attributes = _both(tags_ok, plain_fields, pc.or_(kinds["created"], kinds["update"]))
    return _either(
        _both(kinds["message"], among(author, _AUTHORS), pc.is_valid(public)),
        _both(kinds["status"], among(status, _STATUSES)),
        _both(attributes, pc.if_else(kinds["created"], created_ok, update_ok)),
        _both(kinds["csat"], pc.is_valid(score)),
    )


def _both(*masks: Any) -> Any:
    import pyarrow.compute as pc

    found = masks[0]
    for mask in masks[1:]:
        found = pc.and_(found, mask)
    return found


def _either(*masks: Any) -> Any:
    import pyarrow.compute as pc

    found = masks[0]
    for mask in masks[1:]:
        found = pc.or_(found, mask)
    return found


def _false_where_null(mask: Any) -> Any:
    # fill_null(mask, False) in a twentieth of its time (Arrow fills booleans slowly).
    import pyarrow.compute as pc

    return pc.and_kleene(mask, pc.is_valid(mask))


def _vocabulary(words: dict[str, str]) -> Callable[[str], str | None]:
    # A word as the vocabulary's own string (None for another word: such rows are not taken).
    return words.get


def _channel(word: str) -> str:
    # A channel as events keep it: lower case, one string per name.
    return shared_name(word.lower())


def _visible(word: str) -> bool:
    # A channel a created event takes: not blank.
    return bool(word.strip())


def word_columns(schema: Any) -> list[str]:
    """The columns of an Arrow schema read as word codes: the text ones of the event keys
    whose words events share (not ids: one per row)."""
    import pyarrow as pa

    found = []
    for field in schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if field.name in _WORD_KEYS and is_text(kind):
            found.append(field.name)
    return found


def _word_columns(table: Any, cache: WordCache) -> dict[str, Words] | None:
    # The text columns of _WORD_KEYS as codes (a missing or empty column: no row has a
    # word); None when one is present but not text, which only the per-row path reads.
    # Fields of another type are left to _no_cells.
    found: dict[str, Words] = {}
    names = table.schema.names
    rows = table.num_rows
    for key in _WORD_KEYS:
        column = table.column(key) if key in names else None
        words = None
        if column is not None and column.null_count < len(column):
            words = coded(key, column, cache)
            if words is None and key != "fields":
                return None
        found[key] = words if words is not None else no_words(rows)
    return found


def _id_column(table: Any, pa: Any, pc: Any) -> Any:
    # The ids as plain text, "" made null (an empty cell); None for a column of another type.
    rows = table.num_rows
    if "id" not in table.schema.names:
        return pa.nulls(rows, pa.string())
    column = table.column("id")
    if column.null_count == len(column):
        return pa.nulls(rows, pa.string())
    text = plain_text(column)
    if text is None:
        return None
    empty = pc.equal(text, "")
    if not pc.any(empty).as_py():
        return text
    return pc.if_else(empty, pa.scalar(None, pa.string()), text)


def _is_text_column(table: Any, key: str) -> bool:
    # A present column whose cells are text (in any of Arrow's forms).
    import pyarrow as pa

    if key not in table.schema.names:
        return False
    kind = table.schema.field(key).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return is_text(kind)


def _tags(table: Any, pa: Any, pc: Any) -> tuple[Any, Any]:
    # The tags column where it is a list of strings (and True where its row can be taken:
    # no tags, or a list without empty items); otherwise no row with tags is taken.
    rows = table.num_rows
    if "tags" not in table.schema.names:
        return pa.nulls(rows, pa.list_(pa.string())), pa.repeat(True, rows)
    column = table.column("tags")
    kind = column.type
    if not (pa.types.is_list(kind) and pa.types.is_string(kind.value_type)):
        return pa.nulls(rows, pa.list_(pa.string())), pc.is_null(column)
    flat = pc.list_flatten(column)
    ok = pa.repeat(True, rows)
    if flat.null_count:  # lists with an empty item: their rows take the per-row path
        holes = pc.filter(pc.list_parent_indices(column), pc.is_null(flat))
        ok = pc.invert(pc.is_in(pa.array(range(rows), pa.int64()), value_set=holes))
    return column, ok


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
    elif (text := plain_text(column)) is not None:
        return _text_seconds(text, pa, pc)
    else:
        return None
    inside = pc.and_(pc.greater_equal(seconds, _LOW), pc.less_equal(seconds, _HIGH))
    return pc.if_else(_false_where_null(pc.and_(whole, inside)), seconds, None)


def _text_seconds(column: Any, pa: Any, pc: Any) -> Any:
    # Instants of the usual form: the date and time by Arrow's strptime, the date
    # checked against its digits (strptime rolls 02-30 over into March), the offset
    # from its digits, the year (the local one, as parse_instant checks it) too.
    usual = _false_where_null(pc.match_substring_regex(column, _INSTANT))
    text = pc.if_else(usual, column, "2000-01-01T00:00:00Z")

    def number(start: int, stop: int) -> Any:
        return pc.utf8_slice_codeunits(text, start, stop).cast(pa.int64())

    core = pc.utf8_slice_codeunits(text, 0, 19)
    parsed = pc.strptime(core, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    year = number(0, 4)
    exists = _false_where_null(pc.equal(pc.day(parsed), number(8, 10)))
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


def _no_cells(table: Any, key: str) -> Any:
    # True where the row has no cell under ``key`` (tags and fields take the per-row path).
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.num_rows
    if key not in table.schema.names:
        return pa.repeat(True, rows)

    return pc.is_null(table.column(key))


def _public(table: Any, pa: Any, pc: Any) -> Any:
    # A boolean column's cells, True where empty; null where another type needs the per-row path.
    if "public" not in table.schema.names:
        return pa.repeat(True, table.num_rows)
    column = table.column("public")
    if pa.types.is_boolean(column.type):
        return pc.or_kleene(column, pc.is_null(column))  # True where null
    if column.null_count == len(column):
        return pa.repeat(True, table.num_rows)
    return pa.nulls(table.num_rows, pa.bool_())


def _scores(table: Any, pa: Any, pc: Any) -> Any:
    # Finite float scores; null elsewhere (other types and empty cells: the per-row path).
    if "score" not in table.schema.names:
        return pa.nulls(table.num_rows, pa.float64())
    column = table.column("score")
    if not pa.types.is_float64(column.type):
        return pa.nulls(table.num_rows, pa.float64())
    return pc.if_else(_false_where_null(pc.is_finite(column)), column, None)


__all__ = ["arrow_events", "word_columns"]
