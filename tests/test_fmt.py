"""``slaengine fmt``: layout normalised, meaning, comments, quoting and flow style kept."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import slaengine
from cli_support import RunCli
from slaengine.cli import main
from slaengine.errors import PolicyError
from slaengine.policy import fmt
from slaengine.policy.calendar_maps import CalendarMap
from slaengine.policy.fmt import FormatError, format_text
from slaengine.policy.load import policy_files

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "fmt"
# Each input X.yaml with its formatted form X.expected (a golden file: review its diff).
CASES = sorted(p.stem for p in DATA.glob("*.yaml") if p.with_suffix(".expected").exists())
SHIPPED = policy_files([ROOT / "policies"])


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.fixture
def messy_copy(tmp_path: Path) -> Path:
    """A copy of the messy policy file in a fresh directory."""
    target = tmp_path / "messy.yaml"
    shutil.copyfile(DATA / "messy.yaml", target)
    return target


# -- format_text: golden files --------------------------------------------------------------


def test_every_case_has_an_input() -> None:
    assert {"messy", "comments", "style", "whitespace", "markers", "calendar_goals"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_formats_to_the_golden_file(case: str) -> None:
    text = _read(DATA / f"{case}.yaml")
    assert format_text(text, f"{case}.yaml") == _read(DATA / f"{case}.expected")


@pytest.mark.parametrize("case", CASES)
def test_formatting_is_idempotent(case: str) -> None:
    once = format_text(_read(DATA / f"{case}.yaml"))
    assert format_text(once) == once
    expected = _read(DATA / f"{case}.expected")
    assert format_text(expected) == expected


def _map_meaning(cal_map: CalendarMap) -> tuple[object, ...]:
    entries = {value: calendar.name for value, calendar in cal_map.entries.items()}
    return (cal_map.name, cal_map.source, cal_map.field, cal_map.value, entries,
            cal_map.default.name)  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_meaning_is_kept(case: str) -> None:
    """The formatted policies load to the same calendars, policies and targets."""
    text = _read(DATA / f"{case}.yaml")
    before = slaengine.loads_policies(text)
    after = slaengine.loads_policies(format_text(text))
    assert list(after.calendars) == list(before.calendars)
    for name, calendar in before.calendars.items():
        assert type(after.calendars[name]) is type(calendar)
    assert [p.name for p in after.policies] == [p.name for p in before.policies]
    for old, new in zip(before.policies, after.policies, strict=True):
        assert new.description == old.description
        assert new.calendar.name == old.calendar.name
        assert [_map_meaning(m) for m in new.maps] == [_map_meaning(m) for m in old.maps]
        assert new.goal == old.goal
        assert [(m.kind, m.targets, m.pause_when, m.goal) for m in new.metrics] == [
            (m.kind, m.targets, m.pause_when, m.goal) for m in old.metrics
        ]
    assert after.status_map == before.status_map


# -- format_text: what is normalised --------------------------------------------------------


def test_messy_indentation_is_fixed() -> None:
    out = format_text(_read(DATA / "messy.yaml"))
    assert "  office-berlin:\n    timezone: Europe/Berlin" in out
    assert "policies:\n  # Urgent tickets first.\n  - name: urgent\n    match:" in out
    assert "        pause_when:\n          - pending\n          - on_hold\n" in out


def test_trailing_whitespace_and_final_newlines() -> None:
    assert format_text("a: 1   \nb: 2 \n\n\n\n") == "a: 1\nb: 2\n"
    assert format_text("a: 1") == "a: 1\n"
    assert format_text("# only a comment   \n\n\n") == "# only a comment\n"
    assert format_text("") == ""


def test_trailing_spaces_inside_block_text_are_text() -> None:
    out = format_text(_read(DATA / "block_text.yaml"))
    assert "      Every ticket.   \n      # this line is text, not a comment\n" in out


# -- format_text: what is kept --------------------------------------------------------------


def test_comments_are_kept_where_they_are() -> None:
    text = _read(DATA / "comments.yaml")
    assert format_text(text) == text


def test_full_line_comments_move_with_their_line() -> None:
    out = format_text("a:\n    # about b\n    b: 1\n    # after b\nc: 2\n")
    assert out == "a:\n  # about b\n  b: 1\n  # after b\nc: 2\n"


def test_end_of_line_comments_keep_their_column() -> None:
    assert format_text("a:\n    b: 1     # c\n") == "a:\n  b: 1       # c\n"
    nested = "a:\n  b:\n    - {c: 1}      # c\n    - {c: 2}   # d\n"
    assert format_text(nested) == nested  # ruamel alone would move these two columns left
    assert format_text("-   a: 1  # c\n- - b   # d\n") == "- a: 1    # c\n-   - b # d\n"


def test_key_order_quotes_flow_style_and_long_lines_are_kept() -> None:
    text = _read(DATA / "style.yaml")
    assert format_text(text) == text
    assert 'description: "Berlin office, Monday to Friday,' in text  # one long line


@pytest.mark.parametrize(
    "line",
    [
        "a: ~",
        "a: null",
        "a:",
        "a: True",
        "a: no",
        "a: '08'",
        'a: "x"',
        "a: 0x1F",
        "a: 1_000",
        "a: 1.50",
        "a: 2025-12-24",
        "a: 2025-12-24T10:00:00+01:00",
        "a: &x {b: 1}",
        "a: !!str 5",
        "a: [1, [2, {b: 3}]]",
        "a: {}",
        "a: []",
    ],
)
def test_scalars_are_written_as_they_were(line: str) -> None:
    assert format_text(line + "\n") == line + "\n"


def test_document_markers_are_kept() -> None:
    text = _read(DATA / "markers.yaml")
    out = format_text(text)
    assert out.startswith("# Written by an export script that adds document markers.\n--- #")
    assert out.endswith("\n...\n")
    assert format_text("--- {a: 1}\n") == "--- {a: 1}\n"


def test_windows_line_endings_and_bom_are_kept() -> None:
    assert format_text("\ufeffa:\r\n    b: 1  \r\n") == "\ufeffa:\r\n  b: 1\r\n"


def test_top_level_list_starts_at_column_0() -> None:
    assert format_text("-   a: 1\n    b: 2\n") == "- a: 1\n  b: 2\n"


# -- format_text: refusals ------------------------------------------------------------------


def test_syntax_error_is_a_located_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        format_text(_read(DATA / "syntax_error.yaml"), "syntax_error.yaml")
    (problem,) = caught.value.problems
    assert (problem.source, problem.line, problem.column, problem.code) == (
        "syntax_error.yaml",
        4,
        34,
        "E001",
    )


def test_disallowed_tag_is_the_problem_check_reports() -> None:
    with pytest.raises(PolicyError) as caught:
        format_text("policies:\n  - name: !!python/object/apply:os.system [ls]\n", "t.yaml")
    assert str(caught.value) == (
        "t.yaml:2:11: E105 the YAML tag '!!python/object/apply:os.system' is not allowed: "
        "policy files hold plain values, lists and mappings only; remove the tag"
    )


def test_duplicate_key_is_a_located_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        format_text("a: 1\nb: 2\na: 3\n", "dup.yaml")
    assert str(caught.value).startswith("dup.yaml:3:1: E104 ")


def test_impossible_date_is_a_located_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        format_text("holidays:\n  - 2025-12-24\n  - 2025-13-01\n", "d.yaml")
    assert str(caught.value).startswith("d.yaml:3:5: E204 bad value '2025-13-01'")


def test_wrapped_flow_collections_keep_their_lines_and_comments() -> None:
    text = "a:\n    b: {x: 1,   # one\n        y: [2,\n            3]}   # c\n"
    assert format_text(text) == "a:\n  b: {x: 1,     # one\n      y: [2,\n          3]}     # c\n"


def test_lost_comment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmt, "_restore_flow_lines", lambda original, emitted: emitted)
    with pytest.raises(FormatError, match=r"comment at line 1, column 11 \('# c'\)"):
        format_text("a: {x: 1, # c\n  y: 2}\n", "flow.yaml")


def test_changed_meaning_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fmt, "_emit", lambda body, markers, root_is_list: "a: 2\n")
    with pytest.raises(FormatError, match=r"^x\.yaml: not formatted: .* load differently"):
        format_text("a: 1\n", "x.yaml")


# -- the command ----------------------------------------------------------------------------


def test_shipped_policies_are_formatted(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SHIPPED
    for path in SHIPPED:
        text = _read(path)
        assert format_text(text, str(path)) == text, path
    monkeypatch.chdir(ROOT)
    before = {path: path.stat().st_mtime_ns for path in SHIPPED}
    status, out, err = run_cli("fmt", "--check")  # default PATH: policies/
    assert (status, out) == (0, "")
    assert err.endswith(f"0 files would be reformatted, {len(SHIPPED)} unchanged\n")
    assert {path: path.stat().st_mtime_ns for path in SHIPPED} == before


def test_fmt_rewrites_in_place(run_cli: RunCli, messy_copy: Path) -> None:
    status, out, err = run_cli("fmt", str(messy_copy))
    assert (status, out) == (0, "")
    assert err == f"reformatted {messy_copy}\n1 file reformatted, 0 unchanged\n"
    assert _read(messy_copy) == _read(DATA / "messy.expected")
    assert run_cli("fmt", str(messy_copy))[2] == "0 files reformatted, 1 unchanged\n"


def test_check_lists_files_exits_1_and_writes_nothing(run_cli: RunCli, messy_copy: Path) -> None:
    shutil.copyfile(DATA / "comments.yaml", messy_copy.parent / "clean.yaml")
    status, out, err = run_cli("fmt", "--check", str(messy_copy.parent))
    assert (status, out) == (1, "")
    assert err == f"would reformat {messy_copy}\n1 file would be reformatted, 1 unchanged\n"
    assert _read(messy_copy) == _read(DATA / "messy.yaml")


def test_diff_prints_a_unified_diff_and_writes_nothing(run_cli: RunCli, messy_copy: Path) -> None:
    status, out, err = run_cli("fmt", "--diff", str(messy_copy))
    assert status == 0
    assert out.startswith(f"--- {messy_copy}\n+++ {messy_copy}\n@@ ")
    assert "-    office-berlin:\n" in out
    assert "+  office-berlin:\n" in out
    assert err == "1 file would be reformatted, 0 unchanged\n"
    assert _read(messy_copy) == _read(DATA / "messy.yaml")
    assert run_cli("fmt", "--diff", "--check", str(messy_copy))[0] == 1


def test_syntax_error_exits_2_and_leaves_the_file(run_cli: RunCli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    shutil.copyfile(DATA / "syntax_error.yaml", broken)
    shutil.copyfile(DATA / "messy.yaml", tmp_path / "messy.yaml")
    before = broken.stat().st_mtime_ns
    status, _, err = run_cli("fmt", str(tmp_path))
    assert status == 2
    assert f"{broken}:4:34: E001 YAML syntax: expected ',' or ']'" in err
    assert err.endswith("1 file reformatted, 0 unchanged, 1 file not formatted (see above)\n")
    assert _read(broken) == _read(DATA / "syntax_error.yaml")
    assert broken.stat().st_mtime_ns == before
    assert _read(tmp_path / "messy.yaml") == _read(DATA / "messy.expected")


def test_write_is_atomic_and_keeps_the_mode(run_cli: RunCli, messy_copy: Path) -> None:
    messy_copy.chmod(0o640)
    inode = messy_copy.stat().st_ino
    assert run_cli("fmt", str(messy_copy))[0] == 0
    assert stat.S_IMODE(messy_copy.stat().st_mode) == 0o640
    assert messy_copy.stat().st_ino != inode  # replaced, not rewritten in place
    assert sorted(p.name for p in messy_copy.parent.iterdir()) == ["messy.yaml"]  # no temp left


def test_symlink_stays_a_link(run_cli: RunCli, messy_copy: Path) -> None:
    link = messy_copy.parent / "link.yaml"
    link.symlink_to(messy_copy.name)
    assert run_cli("fmt", str(link))[0] == 0
    assert link.is_symlink()
    assert _read(messy_copy) == _read(DATA / "messy.expected")


def test_failed_write_leaves_the_file_and_no_temp(
    run_cli: RunCli, messy_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        main(["fmt", str(messy_copy)])
    assert _read(messy_copy) == _read(DATA / "messy.yaml")
    assert sorted(p.name for p in messy_copy.parent.iterdir()) == ["messy.yaml"]


def test_directory_gives_the_same_files_as_check(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "tests").mkdir()
    for name in ("a.yaml", "sub/b.yml", "tests/t.yaml"):
        shutil.copyfile(DATA / "messy.yaml", tmp_path / name)
    (tmp_path / "notes.txt").write_text("not:    yaml\n", encoding="utf-8")
    status, _, err = run_cli("fmt", str(tmp_path))
    assert status == 0
    assert err.splitlines() == [
        f"reformatted {tmp_path / 'a.yaml'}",
        f"reformatted {tmp_path / 'sub' / 'b.yml'}",
        "2 files reformatted, 0 unchanged",
    ]
    assert _read(tmp_path / "tests" / "t.yaml") == _read(DATA / "messy.yaml")
    assert _read(tmp_path / "notes.txt") == "not:    yaml\n"


def test_missing_path_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    status, _, err = run_cli("fmt", str(tmp_path / "nope.yaml"))
    assert status == 2
    assert "nope.yaml: E002 no such file or directory" in err


def test_windows_line_endings_survive_the_command(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"a:\r\n    b: 1\r\n")
    assert run_cli("fmt", str(path))[0] == 0
    assert path.read_bytes() == b"a:\r\n  b: 1\r\n"


# -- the pre-commit hooks -------------------------------------------------------------------


def test_pre_commit_hooks() -> None:
    import re
    import shlex

    from ruamel.yaml import YAML

    from slaengine.cli import build_parser

    hooks = YAML(typ="safe", pure=True).load(ROOT / ".pre-commit-hooks.yaml")
    by_id = {hook["id"]: hook for hook in hooks}
    assert sorted(by_id) == ["slaengine-check", "slaengine-fmt", "slaengine-test"]
    # fmt takes the changed files; check and test need the whole folder, once.
    assert by_id["slaengine-fmt"]["pass_filenames"] is True
    assert by_id["slaengine-check"]["pass_filenames"] is False
    assert by_id["slaengine-test"]["pass_filenames"] is False
    assert re.search(by_id["slaengine-check"]["exclude"], "policies/tests/support.yaml")
    for hook in hooks:
        assert hook["language"] == "python"
        assert re.search(hook["files"], "policies/support.yaml")
        assert not re.search(hook["files"], ".github/workflows/ci.yaml")
        # Each entry is a real command line of ours.
        command = shlex.split(hook["entry"])
        assert command[0] == "slaengine"
        build_parser().parse_args(command[1:])
