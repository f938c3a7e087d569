"""What a newcomer following the docs ran into: mistyped paths, narrow terminals, test files.

Each test names the command line a user would type and what they must see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_support import RunCli
from slaengine.live import Store

POLICY = """\
version: 1
policies:
  - name: desk
    metrics:
      first_response: {targets: 1h}
"""


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "desk.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ("status", "--state", "typo.db", "-p", "policies/", "T-1"),
        ("status", "--state", "typo.db", "--due-within", "2h"),
        ("status", "--state", "sqlite:///typo.db", "--due-within", "2h"),
        ("outbox", "--state", "typo.db"),
        ("outbox", "--state", "typo.db", "--rejects"),
    ],
    ids=["status-ticket", "status-queue", "status-sqlite-url", "outbox", "outbox-rejects"],
)
def test_looking_at_a_mistyped_state_creates_nothing(
    policy_dir: Path, run_cli: RunCli, argv: tuple[str, ...]
) -> None:
    status, _, err = run_cli(*argv)
    assert status == 2
    assert "state 'typo.db' does not exist" in err or "'sqlite:///typo.db' does not exist" in err
    assert "ingest, run and serve create it" in err
    assert not (policy_dir / "typo.db").exists()


def test_looking_at_an_existing_state_still_works(policy_dir: Path, run_cli: RunCli) -> None:
    Store.open(policy_dir / "state.db").close()
    status, out, _ = run_cli("status", "--state", "state.db", "--due-within", "2h", "--json")
    assert status == 0
    assert '"count": 0' in out
    status, out, _ = run_cli("outbox", "--state", "state.db")
    assert status == 0
    assert "0 pending" in out


EXPLAIN = (
    "explain",
    "-p",
    "policies/",
    "-e",
    "examples/tickets.jsonl",
    "--ticket",
    "T-1004",
    "--at",
    "2025-12-03T16:00:00Z",
)


@pytest.mark.parametrize(
    "argv",
    [
        EXPLAIN,
        ("whatif", "-p", "policies/", "-a", "policies/", "-e", "examples/tickets.jsonl"),
        ("plugins",),
    ],
    ids=["explain", "whatif", "plugins"],
)
def test_tables_fit_columns(
    at_repo_root: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run_cli(*argv)
    assert status == 0
    assert max(len(line) for line in out.splitlines()) <= 80


def test_explain_segments_stay_readable_at_80_columns(
    at_repo_root: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run_cli(*EXPLAIN)
    segments = out[out.index("Segment") :]
    # Every column is shown whole: no cell is cut to an ellipsis, the notes keep their words.
    assert "…" not in segments
    assert "Note" in segments
    assert "outside open hours" in segments
    assert "Mon 12-01 20:00" in segments  # the year goes (the start line above has it)


def test_explain_to_a_file_keeps_full_times(
    at_repo_root: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = run_cli(*EXPLAIN)
    segments = out[out.index("Segment") :]
    assert "Real" in segments
    assert "Mon 2025-12-01 20:00" in segments


BROKEN_TEST = """\
- name: broken
  timeline:
    - {at: 2025-12-02T12:20:00, type: created, channel: chat, priority: normal}
    - {at: +1h, type: mesage, author: agent}
    - {at: +1.5h, type: message}
  at: +3h
  expect:
    - {metric: first_response, state: done}
"""


def test_a_first_timestamp_without_offset_hides_no_other_mistake(
    policy_dir: Path, run_cli: RunCli
) -> None:
    """The missing offset is said once; the offsets after it are not blamed for it."""
    (policy_dir / "policies" / "tests").mkdir()
    (policy_dir / "policies" / "tests" / "broken.yaml").write_text(BROKEN_TEST, encoding="utf-8")
    status, out, err = run_cli("test")
    assert status == 2
    lines = (out + err).splitlines()
    problems = [line.split(": ", 1)[1] for line in lines if line.startswith("policies/tests/")]
    codes = [problem.split(" ", 1)[0] for problem in problems]
    assert codes == ["E400", "E400", "E400", "E201", "E103"]
    assert "has no UTC offset" in problems[0]
    assert "'mesage'" in problems[1]
    assert "missing 'author'" in problems[2]
    assert "'1.5h'" in problems[3]
    assert not any("no timestamp to count from" in line for line in lines)


def test_audit_names_both_figures_of_time_in_new_open(at_repo_root: Path, run_cli: RunCli) -> None:
    _, out, _ = run_cli(
        "audit", "-p", "policies/", "-e", "examples/tickets.jsonl", "--at", "2025-12-03T16:00:00Z"
    )
    assert "Time in new/open, solved: mean (median)" in out


def test_audit_help_lists_every_dimension(capsys: pytest.CaptureFixture[str]) -> None:
    from slaengine.audit.views import DIMENSIONS, METRIC
    from slaengine.cli import main

    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for dimension in (*DIMENSIONS, METRIC):
        assert dimension in text.split("grouping of the 'groups' section")[1].split("--period")[0]


@pytest.mark.parametrize(
    "argv",
    [
        ("evaluate", "-p", "policies/", "-e", "examples/tickets.jsonl"),
        ("explain", "-p", "policies/", "-e", "examples/tickets.jsonl", "--ticket", "T-1001"),
        ("audit", "-p", "policies/", "-e", "examples/tickets.jsonl"),
    ],
    ids=["evaluate", "explain", "audit"],
)
def test_a_misspelt_time_zone_gets_a_suggestion(
    at_repo_root: Path, run_cli: RunCli, argv: tuple[str, ...]
) -> None:
    status, _, err = run_cli(*argv, "--tz", "europe/berlin")
    assert status == 2
    assert err.strip().endswith("did you mean 'Europe/Berlin'?")


PASSING_TEST = """\
- name: answered in time
  timeline:
    - {at: 2025-12-01T09:00:00Z, type: created, channel: email, priority: normal}
    - {at: +30m, type: message, author: agent}
  at: +1h
  expect:
    - {metric: first_response, state: achieved}
"""


def test_a_test_file_outside_tests_needs_its_policies(policy_dir: Path, run_cli: RunCli) -> None:
    """The folder above a stray file is not read as policies: it may be a home directory."""
    (policy_dir / "stray.yaml").write_text(PASSING_TEST, encoding="utf-8")
    # A broken YAML file beside it: reading the folder above would trip over it.
    (policy_dir.parent / f"{policy_dir.name}-neighbour.yaml").write_text("[", encoding="utf-8")
    try:
        status, out, _ = run_cli("test", "stray.yaml")
        assert status == 2
        assert "stray.yaml: E002 not in a 'tests' folder" in out
        assert "give --policies PATH" in out
        assert "neighbour" not in out
        status, out, _ = run_cli("test", "--policies", "policies/", "stray.yaml")
        assert status == 0
        assert out.splitlines()[-1] == "1 passed, 0 failed"
    finally:
        (policy_dir.parent / f"{policy_dir.name}-neighbour.yaml").unlink()


def test_no_tests_folder_says_where_tests_go(policy_dir: Path, run_cli: RunCli) -> None:
    status, out, _ = run_cli("test")
    assert status == 2
    assert "policies/tests: E002 no such directory; write policy tests there" in out
    assert "slaengine test ." not in out


def test_no_tests_folder_from_inside_the_policies_folder_says_what_to_run(
    policy_dir: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = policy_dir / "policies" / "tests"
    tests.mkdir()
    (tests / "desk.yaml").write_text("[]\n", encoding="utf-8")
    monkeypatch.chdir(policy_dir / "policies")
    status, out, _ = run_cli("test")
    assert status == 2
    assert "policies/tests: E002 no such directory" in out
    assert "inside the policies folder (it has tests/): run slaengine test ." in out


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (
            '[columns]\nticket = "Case"\nat = "Whenn"\n',
            "(no column 'Whenn' named in columns.toml; did you mean 'When'?)",
        ),
        (
            '[colums]\nticket = "Case"\n',
            "unknown section(s) colums; expected columns, values, defaults, format; "
            "did you mean 'columns'?",
        ),
    ],
    ids=["column", "section"],
)
def test_a_csv_mapping_typo_gets_a_suggestion(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
    mapping: str,
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export.csv").write_text("Case,When\nC1,2025-12-02T09:00:00Z\n", encoding="utf-8")
    (tmp_path / "columns.toml").write_text(mapping, encoding="utf-8")
    status, _, err = run_cli("import", "csv", "export.csv", "--mapping", "columns.toml")
    assert status == 2
    assert expected in err


def test_a_misspelt_state_lists_the_states_as_words(
    at_repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slaengine.cli import main

    with pytest.raises(SystemExit):
        main(["evaluate", "-p", "policies/", "-e", "examples/tickets.jsonl", "--state", "brached"])
    err = capsys.readouterr().err
    choices = err.split("choose from", 1)[1]
    assert "ClockState" not in choices
    for state in ("active", "paused", "achieved", "breached", "cancelled"):
        assert state in choices
