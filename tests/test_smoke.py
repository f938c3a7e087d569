"""End-to-end smoke test of the README's main command."""

from slaengine.cli import main


def test_readme_command_evaluates_shipped_policies(capsys):
    status = main(
        [
            "evaluate",
            "--policies",
            "policies/",
            "--events",
            "examples/tickets.jsonl",
            "--at",
            "2025-12-03T16:00:00Z",
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert '"ticket": "T-1002"' in out
    assert out.count("\n") == 7
