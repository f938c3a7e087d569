"""Control characters from input never reach the terminal raw: one helper escapes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.cli import main
from slaengine.errors import Problem
from slaengine.safetext import printable, printable_lines

POLICIES = Path(__file__).resolve().parent.parent / "policies"
AT = "2025-12-03T16:00:00Z"
# A ticket id that clears the screen, overrides the text direction and looks like markup.
HOSTILE = "T-\x1b[2J\u202eevil[/x]\r"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("T-1001 plain", "T-1001 plain"),
        ("tab\tkept", "tab\tkept"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("over\rwrite", "over\\x0dwrite"),
        ("new\nline", "new\\x0aline"),
        ("bell\x07 del\x7f c1\x9b", "bell\\x07 del\\x7f c1\\x9b"),
        ("rtl\u202eoverride \u2066isolate\u2069", "rtl\\u202eoverride \\u2066isolate\\u2069"),
        ("line\u2028separator", "line\\u2028separator"),
        ("lone\ud800surrogate", "lone\\ud800surrogate"),
        ("Müller 東京 😀", "Müller 東京 😀"),
    ],
    ids=["plain", "tab", "escape", "cr", "lf", "c0-del-c1", "bidi", "separator", "surrogate",
         "unicode"],
)  # fmt: skip
def test_printable_escapes_control_characters_only(text, shown):
    assert printable(text) == shown


def test_printable_lines_keeps_line_breaks():
    assert printable_lines("a\x1b\nb\rc") == "a\\x1b\nb\\x0dc"


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(exclude_categories=())))  # surrogates included
def test_printed_text_is_safe_and_loses_nothing_visible(text):
    shown = printable(text)
    assert printable(shown) == shown  # nothing left to escape
    assert shown.encode("utf-8").decode("utf-8") == shown  # even a lone surrogate is writable
    visible = [c for c in text if c.isprintable() and c not in "\u2028\u2029"]
    assert all(c in shown for c in visible)


def test_problem_text_escapes_its_source_and_message():
    problem = Problem("po\x1bl.yaml", 3, 4, "E101", "unknown key '\x1b[31mred'")
    assert str(problem) == "po\\x1bl.yaml:3:4: E101 unknown key '\\x1b[31mred'"


@pytest.fixture
def hostile_events(tmp_path: Path) -> Path:
    """One ticket whose id and channel carry terminal control sequences and markup."""
    path = tmp_path / "hostile.jsonl"
    events = [
        {"ticket": HOSTILE, "at": "2025-12-01T08:00:00Z", "type": "created",
         "channel": "e\x1b]0;title\x07mail", "priority": "high"},
        {"ticket": HOSTILE, "at": "2025-12-01T08:00:00Z", "type": "status", "status": "b\x1bogus"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["evaluate", "audit"])
def test_tables_and_problems_show_input_escaped(capsys, hostile_events, command):
    status = main([command, "-p", str(POLICIES), "-e", str(hostile_events), "--at", AT])
    out, err = capsys.readouterr()
    assert status == 1  # the bad status line
    for stream in (out, err):
        assert "\x1b" not in stream
        assert "\u202e" not in stream
        assert "\r" not in stream
    if command == "evaluate":
        assert "T-\\x1b[2J\\u202eevil[/x]\\x0d" in out.replace("\n", "")
    else:
        assert "e\\x1b]0;title\\x07mail" in out
    assert "hostile.jsonl:2: E400" in err


def test_explain_shows_input_escaped(capsys, hostile_events):
    status = main(
        ["explain", "-p", str(POLICIES), "-e", str(hostile_events), "--at", AT, "--ticket", HOSTILE]
    )
    out, _ = capsys.readouterr()
    assert status in (0, 1)
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "T-\\x1b[2J\\u202eevil[/x]\\x0d" in out.replace("\n", "")


def test_usage_errors_show_input_escaped(capsys, tmp_path):
    assert main(["check", str(tmp_path / "no\x1b[2Jsuch.yaml")]) == 2
    err = capsys.readouterr().err
    assert "no\\x1b[2Jsuch.yaml" in err
    assert "\x1b" not in err
