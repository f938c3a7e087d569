"""The console that command tables print to, and tables fitted to its width.

On a terminal, tables fit its width; so they do when ``COLUMNS`` is set (what
shells export, and what tests use); narrower than a table's kept columns, rows
become blocks of lines. Piped or redirected output without
``COLUMNS`` gets a wide console with every column, for files and ``grep``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

#: Width of output that goes to a file or a pipe.
FILE_WIDTH: Final = 200


def trimmed_line_ends(segments: Iterable[Segment]) -> Iterator[Segment]:
    """``segments`` without the spaces that end their lines.

    Rich pads every table line to the table's width (cell padding, centred
    titles, blank section lines): invisible on a screen, but noise in files,
    diffs and copied text. Spaces are held back until the line goes on, so the
    columns stay where they were.
    """
    held: list[Segment] = []
    for segment in segments:
        if segment.control:
            yield from held
            held.clear()
            yield segment
            continue
        for n, part in enumerate(segment.text.split("\n")):
            if n:
                held.clear()
                yield Segment.line()
            kept = part.rstrip(" ")
            if kept:
                yield from held
                held.clear()
                yield Segment(kept, segment.style)
            if len(kept) < len(part):
                held.append(Segment(part[len(kept) :], segment.style))
    yield from held


class TrimmedConsole(Console):
    """A console whose printed lines never end in spaces."""

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """What :meth:`Console.render` gives, without the spaces ending each line."""
        return trimmed_line_ends(super().render(renderable, options))


def terminal_console(file_width: int = FILE_WIDTH) -> Console:
    """A console on standard output, fitted to the terminal or ``COLUMNS``."""
    fitted = sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return TrimmedConsole(soft_wrap=False, width=None if fitted else file_width)


def fitted_width(console: Console) -> int | None:
    """The width tables must fit, or ``None`` when output is not for a screen."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit():
        return console.width
    return None


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a fitted table: header, cells, alignment and when it may go.

    ``drop`` 0 keeps the column always, at its full width (names, ids, the
    figure the table is about). Larger values go first when the table is too
    wide; columns sharing a value go together (a name and its count).
    """

    header: str
    cells: Sequence[str | Text]
    right: bool = False
    drop: int = 0

    def natural(self) -> int:
        """Characters the widest cell (or the header) needs."""
        return max([len(self.header), *(len(_plain(cell)) for cell in self.cells)])


# Characters after each column's text: its right padding and the column separator.
COLUMN_EXTRA: Final = 2


def table_width(columns: Sequence[Column]) -> int:
    """Characters ``columns`` need side by side, every cell whole."""
    return sum(c.natural() + COLUMN_EXTRA for c in columns)


def fitted_columns(columns: Sequence[Column], width: int | None) -> list[Column]:
    """The columns a table of ``width`` shows: droppable ones leave, highest ``drop`` first."""
    shown = list(columns)
    if width is not None:
        while table_width(shown) > width:
            ranks = [c.drop for c in shown if c.drop]
            if not ranks:
                break
            shown = [c for c in shown if c.drop != max(ranks)]
    return shown


def fitted_table(title: str, columns: Sequence[Column], width: int | None) -> Table:
    """A table of ``columns`` that fits ``width`` by leaving out the droppable columns.

    Kept columns never shrink; without ``width`` (a file or pipe) every column
    is shown. When even the kept columns are wider than ``width``, each row is a
    block of ``Header value`` lines instead (:func:`records_table`): a terminal
    would otherwise cut the right-hand columns off.
    """
    shown = fitted_columns(columns, width)
    if width is not None and table_width(shown) > width:
        # A record has room for every column: none needs to go.
        return records_table(title, columns)
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    for column in shown:
        table.add_column(
            column.header,
            justify="right" if column.right else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=column.natural() if not column.drop else None,
        )
    for row in zip(*(column.cells for column in shown), strict=True):
        table.add_row(*row)
    return table


def records_table(title: str, columns: Sequence[Column]) -> Table:
    """``columns`` one row at a time, each a block of ``Header value`` lines: every cell
    whole on a terminal of any width (a long value folds onto the next line, never cut)."""
    table = Table(
        title=title,
        title_justify="left",
        expand=True,  # the title wraps at the terminal's width, not the blocks'
        box=None,
        show_header=False,
        padding=(0, 1, 0, 0),
    )
    headers = max((len(column.header) for column in columns), default=0)
    table.add_column(style="bold", no_wrap=True, width=headers)
    table.add_column(overflow="fold", ratio=1)
    for n, row in enumerate(zip(*(column.cells for column in columns), strict=True)):
        if n:
            table.add_row("", "")
        for column, value in zip(columns, row, strict=True):
            table.add_row(column.header, value)
    return table


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


__all__ = [
    "COLUMN_EXTRA",
    "FILE_WIDTH",
    "Column",
    "TrimmedConsole",
    "fitted_columns",
    "fitted_table",
    "fitted_width",
    "records_table",
    "table_width",
    "terminal_console",
    "trimmed_line_ends",
]
