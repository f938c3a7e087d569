"""Command-line behaviour people see: usage errors, option names, counted nouns, settings."""

from __future__ import annotations

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


@pytest.mark.parametrize("command", ["evaluate", "audit", "explain", "import", "status", "outbox"])
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
