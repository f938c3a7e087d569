"""Arrow record batches into events: canonical rows column by column, the others row by row.

:func:`table_events` takes a batch's canonical rows in Arrow
(:mod:`slaengine.inputs.arrow_events`) and each other row from its cells
(:func:`column_cells`, then :func:`~slaengine.event_fastpath.canonical_values` or
the validating parser), so a Parquet row gives the event, or the problem, that
its JSON text gives. Opening and splitting Parquet files is
:mod:`slaengine.inputs.parquet`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, Final

from slaengine.errors import EventError, Problem, UserError
from slaengine.event_parsing import canonical_values, parse_event
from slaengine.inputs.arrow_events import arrow_events
from slaengine.inputs.arrow_words import WordCache
from slaengine.inputs.tables import ABSENT, CONVERTERS, cell_value, row_events
from slaengine.timeline import Event

_SEQ = attrgetter("seq")


def column_values(column: Any) -> list[Any]:
    """The cells of an Arrow column as Python values, as ``to_pylist`` gives them.

    A cell Python cannot hold (a timestamp beyond the year 9999) becomes its
    Arrow text, which the event parser reports for its row, instead of an
    ``OverflowError`` for the whole file.
    """
    try:
        return column.to_pylist()  # type: ignore[no-any-return]
    except (OverflowError, ValueError):
        return [_scalar_value(column, row) for row in range(len(column))]


def _scalar_value(column: Any, row: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return column[row].as_py()
    except (OverflowError, ValueError) as exc:
        problem = exc
    if pa.types.is_temporal(column.type):
        try:
            return pc.cast(column.slice(row, 1), pa.string())[0].as_py()
        except (pa.ArrowException, OverflowError, ValueError):
            pass
    # Never a stand-in value that could pass for data: the read stops, saying why.
    raise UserError(f"row {row + 1} of a batch has a cell that cannot be read ({problem})")


def batch_events(batch: Any) -> list[dict[str, Any]]:
    """The event dicts of a ``pyarrow.RecordBatch``, equal to :func:`row_events` of its rows.

    Built column by column: each column's non-null cells are converted once by
    a converter chosen for its name and set into their rows' dicts, so a row
    costs only its few present cells. Tables with ``fields.NAME`` columns
    (merged into ``fields`` row by row) take :func:`row_events`.
    """
    import pyarrow.compute as pc

    names: list[str] = batch.schema.names
    columns = batch.columns
    if any(name.startswith("fields.") for name in names):
        return list(row_events(names, [column_values(column) for column in columns]))
    events: list[dict[str, Any]] = [{} for _ in range(batch.num_rows)]
    for name, column in zip(names, columns, strict=True):
        nulls = column.null_count
        if nulls == len(column):
            continue
        rows: Iterable[int] = range(len(column))
        if nulls:
            rows = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
            column = column.drop_null()  # noqa: PLW2901 - the same cells, nulls left out
        values = column_values(column)
        convert = CONVERTERS.get(name)
        if convert is None and all(type(v) is str for v in values):
            for row, value in zip(rows, values, strict=True):
                if value:  # an empty cell is an absent key
                    events[row][name] = value
            continue
        for row, value in zip(rows, values, strict=True):
            cell = cell_value(value, convert)
            if cell is not ABSENT:
                events[row][name] = cell
    return events


def column_cells(name: str, column: Any, absent: Any = ABSENT) -> list[Any]:
    """One Arrow column's cells as :func:`batch_events` sets them; ``absent`` where unset.

    ``[event.get(name, absent) for event in batch_events(batch)]`` for the
    column ``name`` of ``batch``, without building the dicts (see
    :func:`table_events`, which builds events from columns).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    convert = CONVERTERS.get(name)
    kind = column.type
    if convert is None and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        # Text: nulls and "" are absent; the rest is taken as it is.
        if column.null_count < len(column) and pc.any(pc.equal(column, "")).as_py():
            column = pc.if_else(pc.equal(column, ""), None, column)
        if column.null_count * 2 > len(column):
            # Mostly absent (attributes that few event types carry): set the rest.
            cells = [absent] * len(column)
            valid = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
            for row, value in zip(valid, column.drop_null().to_pylist(), strict=True):
                cells[row] = value
            return cells
        if absent is not None:
            return [absent if v is None else v for v in column.to_pylist()]
        return column.to_pylist()  # type: ignore[no-any-return]
    if name == "public" and pa.types.is_boolean(kind):
        values = column.to_pylist()
        return [absent if v is None else v for v in values]
    cells = [absent] * len(column)
    rows: Iterable[int] = range(len(column))
    if column.null_count:
        rows = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
        column = column.drop_null()
    for row, value in zip(rows, column_values(column), strict=True):
        cell = cell_value(value, convert)
        if cell is not ABSENT:
            cells[row] = cell
    return cells


def table_events(
    table: Any,
    numbers: Sequence[int],
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
    words: WordCache | None = None,
) -> None:
    """Append the events of an Arrow record batch's rows (line ``numbers``) to ``events``.

    Canonical rows become events in Arrow (:func:`~slaengine.inputs.arrow_events.arrow_events`);
    the others one by one from the columns (:func:`column_cells`,
    :func:`canonical_values`), and a row that is not a canonical event is parsed from
    its dict (:func:`batch_events`), which gives the same event or the problem.
    ``words`` keeps the text columns' words for the next batch of the same read.
    """
    append = events.append
    table = _without_views(table)
    if any(name.startswith("fields.") for name in table.schema.names):
        # Fields spread over columns are merged row by row: the general path.
        for number, obj in zip(numbers, batch_events(table), strict=True):
            _append_parsed(obj, number, source, status_map, problems, append)
        return
    fast = arrow_events(table, numbers, words)
    if fast is None:
        _row_events(table, numbers, range(table.num_rows), source, status_map, problems, events)
        return
    taken, slow = fast
    if not slow:
        events.extend(taken)
        return
    # The other rows on their own: their cells are all the per-row path converts.
    rest: list[Event] = []
    others = table.take(slow)
    lines = [numbers[row] for row in slow]
    _row_events(others, lines, range(len(slow)), source, status_map, problems, rest)
    if rest:  # back in row order, as the rows were read
        taken += rest
        taken.sort(key=_SEQ)
    events.extend(taken)


def _without_views(table: Any) -> Any:
    # String view columns (pyarrow 16 and later) as plain strings: Arrow cannot take
    # rows of them (pyarrow 26), which the rows left to the per-row path need.
    import pyarrow as pa

    views = getattr(pa.types, "is_string_view", None)
    if views is None or not any(views(field.type) for field in table.schema):
        return table
    columns = [c.cast(pa.string()) if views(c.type) else c for c in table.columns]
    return pa.RecordBatch.from_arrays(columns, names=table.schema.names)


def _row_events(
    table: Any,
    numbers: Sequence[int],
    rows: Sequence[int],
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
) -> None:
    # The events of some rows, one at a time (canonical_values, else parse_event).
    append = events.append
    columns = _value_columns(table)
    cells: dict[str, list[Any]] | None = None
    every = len(rows) == table.num_rows
    values = zip(*columns, strict=True) if every else ([c[row] for c in columns] for row in rows)
    for row, value in zip(rows, values, strict=True):
        number = numbers[row]
        event = canonical_values(number, number, *value)
        if event is not None:
            append(event)
            continue
        if cells is None:
            cells = {key: column_cells(key, table[key]) for key in table.schema.names}
        # The row's dict as batch_events builds it, for the validating path.
        obj = {name: found[row] for name, found in cells.items() if found[row] is not ABSENT}
        _append_parsed(obj, number, source, status_map, problems, append)


def _append_parsed(
    obj: dict[str, Any],
    number: int,
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    append: Callable[[Event], None],
) -> None:
    try:
        append(parse_event(obj, seq=number, line=number, status_map=status_map))
    except EventError as exc:
        problems.append(Problem(source, number, 0, "E400", exc.reason))


# The keys canonical_values takes, in its order.
_VALUE_KEYS: Final = (
    "ticket", "at", "type", "id", "channel", "priority", "status", "customer", "group",
    "assignee", "tags", "fields", "author", "public", "agent", "score",
)  # fmt: skip


def _value_columns(table: Any) -> list[list[Any]]:
    # Each row's values of _VALUE_KEYS, column by column, as canonical_values takes them:
    # None when absent, but "public" True (its default) when absent.
    names = set(table.schema.names)
    rows = table.num_rows
    columns = []
    for key in _VALUE_KEYS:
        default = True if key == "public" else None
        if key in names:
            columns.append(column_cells(key, table.column(key), default))
        else:
            columns.append([default] * rows)
    return columns


__all__ = ["batch_events", "column_cells", "column_values", "table_events"]
