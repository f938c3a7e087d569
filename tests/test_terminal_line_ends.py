"""Terminal output never ends a line in spaces, and trimming moves no column."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from slaengine.cli import main
from slaengine.report.terminal import Column, TrimmedConsole, fitted_table, trimmed_line_ends

ROOT = Path(__file__).resolve().parents[1]
POLICIES = str(ROOT / "policies")
EXAMPLES = str(ROOT / "examples" / "tickets.jsonl")
AT = "2025-12-03T16:00:00Z"


def test_trimming_drops_only_the_spaces_that_end_lines():
    segments = [Segment("a  "), Segment("  ", None), Segment("b"), Segment(" \n  \n"),
                Segment("c", None), Segment("   ")]  # fmt: skip
    text = "".join(s.text for s in trimmed_line_ends(segments))
    # Spaces after the last newline stay: the next print may go on with that line.
    assert text == "a    b\n\nc   "


def _table() -> Table:
    # A left-aligned last column with cells of different widths pads the short ones.
    columns = [
        Column("Ticket", ["T-1", "T-22222"]),
        Column("State", [Text("breached", style="bold red"), Text("ok", style="green")]),
        Column("Note", ["short", "a much longer note"]),
    ]
    return fitted_table("A title much wider than the table itself, left-justified", columns, 80)


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_trimmed_console_prints_what_rich_prints_without_line_end_spaces(colour):
    plain, trimmed = io.StringIO(), io.StringIO()
    system = "standard" if colour else None
    Console(file=plain, width=80, force_terminal=colour, color_system=system).print(_table())
    TrimmedConsole(file=trimmed, width=80, force_terminal=colour, color_system=system).print(
        _table()
    )
    untouched = plain.getvalue().splitlines()
    assert any(_ends_in_space(line) for line in untouched)  # rich pads: what is trimmed here
    lines = trimmed.getvalue().splitlines()
    assert not [line for line in lines if _ends_in_space(line)]
    # Every line is rich's line, cut at its last printed character: no column moved.
    assert [_visible(line) for line in untouched] == [_visible(line) for line in lines]


def _ends_in_space(line: str) -> bool:
    # A space, then perhaps the codes that end its colour.
    return re.search(r" (?:\x1b\[[0-9;]*m)*$", line) is not None


def _visible(line: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip()


@pytest.mark.parametrize("columns", [None, "80", "120"], ids=["file", "80", "120"])
@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "-p", POLICIES, "-e", EXAMPLES, "--at", AT],
        ["evaluate", "-p", POLICIES, "-e", EXAMPLES, "--at", AT, "--state", "breached"],
        ["audit", "-p", POLICIES, "-e", EXAMPLES, "--at", AT, "--by", "channel,priority"],
        ["whatif", "-p", POLICIES, "-a", POLICIES, "-e", EXAMPLES, "--at", AT],
        ["explain", "-p", POLICIES, "-e", EXAMPLES, "--at", AT, "--ticket", "T-1002"],
    ],
    ids=["evaluate", "evaluate-state", "audit", "whatif", "explain"],
)
def test_command_output_has_no_line_end_spaces(argv, columns, monkeypatch, capsys):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    main(argv)
    out = capsys.readouterr().out
    assert out.count("\n") > 5
    assert not [line for line in out.splitlines() if line != line.rstrip()]
