"""Command-line behaviour people see: usage errors, option names, counted nouns, settings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from slaengine.cli import main
from slaengine.words import plural

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "tickets.jsonl"
POLICIES = ROOT / "policies"


def test_plural_counts_nouns():
    assert plural(1, "ticket") == "1 ticket"
    assert plural(0, "ticket") == "0 tickets"
    assert plural(2, "policy") == "2 policies"
    assert plural(12345, "row") == "12,345 rows"


def test_unknown_option_shows_the_subcommand_usage(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["evaluate", "-p", str(POLICIES), "-e", str(EXAMPLES), "--bogus"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: slaengine evaluate ")
    assert "slaengine evaluate: error: unrecognized arguments: --bogus" in err


@pytest.mark.parametrize(
    "command", ["evaluate", "audit", "explain", "import", "status", "outbox", "whatif"]
)
def test_timezone_is_an_alias_of_tz(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--tz ZONE, --timezone ZONE" in text


def test_tz_and_timezone_give_the_same_table(capsys):
    argv = ["evaluate", "-p", str(POLICIES), "-e", str(EXAMPLES), "--at", "2025-12-03T16:00:00Z"]
    main([*argv, "--tz", "Europe/Berlin"])
    short = capsys.readouterr().out
    main([*argv, "--timezone", "Europe/Berlin"])
    assert capsys.readouterr().out == short
    assert "times in Europe/Berlin" in short


def test_one_ticket_is_singular(tmp_path, capsys):
    events = tmp_path / "one.jsonl"
    events.write_text(EXAMPLES.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    argv = ["evaluate", "-p", str(POLICIES), "-e", str(events), "--at", "2025-12-03T16:00:00Z"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("1 ticket")


POLICY = textwrap.dedent(
    """\
    version: 1
    policies:
      - name: all
        calendar: 24x7
        metrics:
          first_response:
            targets: {urgent: 1h, high: 2h, normal: 4h, low: 8h}
            escalations:
              - {after: 0m, notify: [team-lead]}
    """
)
SETTINGS = '[plugins.webhook.targets.team-lead]\nurl = "http://127.0.0.1:9/hook"\n'


@pytest.fixture
def desk(tmp_path, monkeypatch):
    """A policy naming a webhook target, and a settings file defining it, in ``tmp_path``."""
    pytest.importorskip("slaengine_webhook")
    monkeypatch.delenv("SLAENGINE_CONFIG", raising=False)
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "slaengine.toml").write_text(SETTINGS, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def test_check_reads_the_settings_file_the_same_way_from_any_directory(desk, monkeypatch, capsys):
    policy, settings = str(desk / "p.yaml"), str(desk / "slaengine.toml")
    monkeypatch.chdir(desk)
    assert main(["check", policy]) == 0  # ./slaengine.toml defines the target
    capsys.readouterr()
    monkeypatch.chdir(desk / "elsewhere")
    assert main(["check", policy, "--config", settings]) == 0
    capsys.readouterr()
    monkeypatch.setenv("SLAENGINE_CONFIG", settings)
    assert main(["check", policy]) == 0
    capsys.readouterr()
    monkeypatch.delenv("SLAENGINE_CONFIG")
    # Without any settings file the target is unknown, and check says where targets come from.
    assert main(["check", policy]) == 1
    out, err = capsys.readouterr()
    assert "E305 unknown notify target 'team-lead'" in out
    assert "note: notify targets come from plugins configured by the settings file" in err
    assert "read no settings file" in err


def test_a_command_does_not_inherit_an_earlier_commands_settings(desk, monkeypatch, capsys):
    policy = str(desk / "p.yaml")
    monkeypatch.chdir(desk / "elsewhere")
    assert main(["check", policy, "--config", str(desk / "slaengine.toml")]) == 0
    assert main(["check", policy]) == 1  # same process, no --config: no target
    assert "read no settings file" in capsys.readouterr().err


# -- tables fitted to the terminal ----------------------------------------------------------

EVALUATE = ["evaluate", "-p", str(POLICIES), "-e", str(EXAMPLES), "--at", "2025-12-03T16:00:00Z"]
TICKETS = [f"T-100{n}" for n in range(1, 8)]
METRICS = ("first_response", "next_response #1", "periodic_update #1", "resolution")
STATES = ("achieved", "breached", "active", "paused", "cancelled")


@pytest.mark.parametrize("width", [80, 120])
def test_evaluate_table_keeps_ids_metrics_and_states_whole(width, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main([*EVALUATE, "--tz", "Europe/Berlin"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    # Cells are separated by two spaces or more; a cut cell would end in an ellipsis.
    words = {cell.strip() for line in lines for cell in re.split(r"\s{2,}", line)}
    for ticket in TICKETS:
        assert ticket in words, ticket
    for name in (*METRICS, *STATES):
        assert name in words, name
    assert "…" not in "".join(line.split()[0] for line in lines if line.startswith("T-"))


def test_evaluate_table_without_a_terminal_has_every_column(monkeypatch, capsys):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(EVALUATE) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "Ticket" in line)
    assert header.split() == [
        "Ticket", "Policy", "Metric", "State", "Start", "Due", "Stop", "Elapsed/target", "Left"
    ]  # fmt: skip


def test_evaluate_state_and_limit_select_tickets(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "120")
    assert main([*EVALUATE, "--state", "breached", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    shown = [line.split()[0] for line in out.splitlines() if line.startswith("T-")]
    assert shown == ["T-1002", "T-1003"]
    clock_rows = [line for line in out.splitlines() if " #" in line or "_response" in line]
    assert all("breached" in line for line in clock_rows)
    assert "7 tickets; 2 of 6 tickets with a breached clock shown" in out
    assert main([*EVALUATE, "--state", "breached", "--limit", "2", "--format", "json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_evaluate_limit_must_be_positive(capsys):
    assert main([*EVALUATE, "--limit", "0"]) == 2
    assert "--limit must be 1 or more" in capsys.readouterr().err


AUDIT = ["audit", "-p", str(POLICIES), "-e", str(EXAMPLES), "--at", "2025-12-03T16:00:00Z"]


@pytest.mark.parametrize("width", [80, 120])
def test_audit_tables_fit_and_keep_names(width, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main([*AUDIT, "--by", "channel,priority"]) == 0
    out = capsys.readouterr().out
    table_lines = [line for line in out.splitlines() if not line.startswith("Read ")]
    assert max(len(line.rstrip()) for line in table_lines) <= width
    assert "…" not in out
    # Metrics by their labels, as in every audit table.
    for name in ("First response", "Next response", "Periodic update", "Resolution",
                 "americas-email-web", "urgent-any-channel", "whatsapp", "2025-W49"):  # fmt: skip
        assert name in out, name
    # The figures the tables are about are always there.
    for header in ("Compliance", "Breached", "Median", "p90"):
        assert header in out


def test_part_progress_never_shows_more_done_than_its_total():
    from slaengine.cli.audit import PartProgress

    progress = PartProgress(8)
    seen = []
    for _ in range(9):  # one chunk more than estimated
        progress.advance()
        seen.append((progress.done, progress.total))
    assert all(done <= total for done, total in seen)
    progress.finish()
    assert (progress.done, progress.total) == (9, 9)
    short = PartProgress(8)
    for _ in range(6):
        short.advance()
    short.finish()
    assert (short.done, short.total) == (6, 6)


def test_evaluate_table_keeps_agreement_clock_names_whole_at_80(tmp_path, monkeypatch, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        textwrap.dedent(
            """\
            version: 1
            policies:
              - name: customer-sla
                metrics:
                  first_response: {targets: 4h}
            agreements:
              - name: tier2-ola
                match: {group: tier2}
                on_unmatch: detach
                metrics:
                  first_response: {targets: 1h}
            """
        ),
        encoding="utf-8",
    )
    events = tmp_path / "e.jsonl"
    events.write_text(
        '{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "created",'
        ' "channel": "email", "priority": "high", "group": "tier2"}\n'
        '{"ticket": "T-1", "at": "2025-12-01T10:00:00Z", "type": "update", "group": "tier1"}\n'
        '{"ticket": "T-1", "at": "2025-12-01T11:00:00Z", "type": "update", "group": "tier2"}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COLUMNS", "80")
    args = ["evaluate", "-p", str(policy), "-e", str(events), "--at", "2025-12-01T16:00:00Z"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert "…" not in "\n".join(lines)
    words = {cell.strip() for line in lines for cell in re.split(r"\s{2,}", line)}
    for name in ("tier2-ola: first_response #1", "tier2-ola: first_response #2", "cancelled"):
        assert name in words, name
