"""What-if backtests: comparison logic, parallel runs equal to serial ones, the command."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

import slaengine
from slaengine.cli import main
from slaengine.event_parsing import parse_instant
from slaengine.report.whatif import backtest_renderable, backtest_to_dict, flips_csv
from slaengine.whatif import MET, MISSED, Backtest, Flip, backtest, backtest_file

ROOT = Path(__file__).resolve().parent.parent
NOW = "2025-12-01T00:00:00Z"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif") / "history.jsonl.gz"
    assert main(["generate", "--tickets", "600", "--seed", "5", "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def tighter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policies with email and web first-response targets halved."""
    text = (ROOT / "policies" / "support.yaml").read_text(encoding="utf-8")
    old = "first_response: {targets: {urgent: 1h, high: 2h, normal: 8h, low: 16h}}"
    assert text.count(old) == 2
    path = tmp_path_factory.mktemp("tighter") / "support.yaml"
    path.write_text(text.replace(old, old.replace("8h", "4h").replace("16h", "8h")), "utf-8")
    return path


def _load(
    history: Path, *policies: Path
) -> tuple[list[slaengine.PolicySet], list[slaengine.Timeline]]:
    sets = [slaengine.load_policies(p) for p in policies]
    timelines = slaengine.read_events(history, sets[0].status_map)
    assert not timelines.problems
    return sets, list(timelines.timelines.values())


def test_same_policies_change_nothing(history):
    (policies,), timelines = _load(history, ROOT / "policies")
    result = backtest(policies, policies, timelines, parse_instant(NOW))
    total = result.total()
    assert result.tickets == 600
    assert result.flips == []
    assert result.policy_changed == 0
    assert (total.old_met, total.old_breached) == (total.new_met, total.new_breached)
    assert total.old_met > 0
    assert total.old_breached > 0


def test_tighter_targets_only_add_breaches_where_changed(history, tighter):
    (old, new), timelines = _load(history, ROOT / "policies", tighter)
    result = backtest(old, new, timelines, parse_instant(NOW))
    assert result.flips, "halving targets must breach some first responses"
    assert all(f.metric == "first_response" and f.new == MISSED for f in result.flips)
    assert {f.new_policy for f in result.flips} <= {"email-and-web", "americas-email-web"}
    by_metric = result.by(0)
    first = by_metric["first_response"]
    assert first.new_breached - first.old_breached == len(result.flips)
    assert first.new_met == first.old_met - len(result.flips)
    for metric in ("next_response", "resolution"):
        tally = by_metric[metric]
        assert (tally.old_met, tally.old_breached) == (tally.new_met, tally.new_breached)
    old_weekly, new_weekly = result.breaches_per_week()
    assert new_weekly > old_weekly
    assert MET == "achieved"


def test_spilled_runs_equal_the_in_memory_backtest(history, tighter):
    (old, new), timelines = _load(history, ROOT / "policies", tighter)
    now = parse_instant(NOW)
    in_memory = backtest(old, new, timelines, now)
    single, batch = backtest_file(old, new, str(history), now, jobs=1)
    parallel, _ = backtest_file(old, new, str(history), now, jobs=2)
    assert batch.partitions >= 1
    assert single.flips == in_memory.flips
    assert single.groups == in_memory.groups
    assert parallel.flips == single.flips
    assert parallel.groups == single.groups
    assert parallel.old_weekly == single.old_weekly
    assert parallel.weeks == single.weeks
    assert parallel.tickets == single.tickets


def test_whatif_command_table_json_and_flips(history, tighter, tmp_path, capsys):
    flips = tmp_path / "flips.csv"
    args = [
        "whatif",
        "-p",
        str(ROOT / "policies"),
        "-a",
        str(tighter),
        "-e",
        str(history),
        "--at",
        NOW,
        "--flips",
        str(flips),
    ]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "Outcomes that flip" in table
    assert "First response" in table  # people read labels; JSON and CSV keep the names
    assert "first_response" not in table
    assert main([*args, "--json", "--jobs", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tickets"] == 600
    assert set(data) >= {
        "total",
        "by_metric",
        "by_channel",
        "by_priority",
        "flips",
        "breaches_per_week",
        "groups",
    }
    with flips.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(data["flips"]) > 0
    assert rows[0]["new"] == "breached"


def test_whatif_tables_fit_80_columns(history, tighter, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    args = ["whatif", "-p", str(ROOT / "policies"), "-a", str(tighter), "-e", str(history)]
    assert main([*args, "--at", NOW]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    # Labels, headers and names on one line each: nothing wraps onto a second row.
    assert any(line.startswith("│ Periodic update ") for line in lines)
    assert any(line.startswith("┃ Metric ") and "Breaches ┃" in line for line in lines)
    flipped = [line for line in lines if line.startswith("│ T-")]
    assert flipped
    assert all("│ First response │ 1 │ achieved -> breached" in line
               for line in flipped)  # fmt: skip
    assert all(line.split("│")[-2].strip() in ("email-and-web", "americas-email-web")
               for line in flipped)  # fmt: skip


def test_flips_name_a_changed_policy_as_before_and_after():
    result = Backtest(tickets=1, policy_changed=1, weeks={"2025-W48"})
    result.flips.append(Flip("T-1", "first_response", 1, "achieved", "breached", "old", "new"))
    result.flips.append(Flip("T-2", "resolution", 1, "absent", "breached", None, "new"))
    console = Console(width=80, record=True, color_system=None)
    console.print(backtest_renderable(result, "a/", "b/"))
    text = console.export_text()
    assert "│ T-1    │ First response │ 1 │ achieved -> breached │ old -> new       │" in text
    assert "│ T-2    │ Resolution     │ 1 │ absent -> breached   │ unmatched -> new │" in text


def test_long_ticket_ids_are_shortened_in_the_middle_in_the_table_only(tmp_path):
    long_id = "acme-emea-helpdesk-2025-incident-000123456789"
    wide_id = "チケット番号-とても長い識別子-0000042"  # two columns a character
    result = Backtest(tickets=3, weeks={"2025-W48"})
    for ticket in (long_id, wide_id, "T-1"):
        result.flips.append(Flip(ticket, "first_response", 1, "achieved", "breached", "p", "p"))
    console = Console(width=80, record=True, color_system=None)
    console.print(backtest_renderable(result, "a/", "b/"))
    lines = console.export_text().splitlines()
    rows = [line for line in lines if line.startswith("│") and "achieved" in line]
    assert len(rows) == 3  # one line each: nothing folded
    assert all(len(line) <= 80 for line in lines)
    assert rows[0].startswith("│ acme-emea-h…000123456789 │ First respon")
    shown = rows[1].split("│")[1].strip()
    assert shown == "チケット番…別子-0000042"  # wide characters never cut in half
    assert "│ T-1                      │" in rows[2]
    # JSON and CSV keep every id whole.
    document = backtest_to_dict(result)
    assert [flip["ticket"] for flip in document["flips"]] == [long_id, wide_id, "T-1"]
    assert [row[0] for row in csv.reader(io.StringIO(flips_csv(result)))][1:] == [
        long_id,
        wide_id,
        "T-1",
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--at", "2025-12-01T00:00:00"], "--at: timestamp"),
        (["--jobs", "-1"], "--jobs must be"),
    ],
    ids=["naive-at", "negative-jobs"],
)
def test_whatif_usage_errors_exit_2(history, extra, message, capsys):
    status = main(["whatif", "-p", "policies", "-a", "policies", "-e", str(history), *extra])
    assert status == 2
    assert message in capsys.readouterr().err


def test_broken_new_policies_exit_2_with_located_problems(history, tmp_path, capsys):
    broken = tmp_path / "new.yaml"
    broken.write_text("policies:\n  - name: x\n    metrics: {first_response: {targets: 2d}}\n")
    assert main(["whatif", "-p", "policies", "-a", str(broken), "-e", str(history)]) == 2
    assert f"{broken}:3:" in capsys.readouterr().err


def test_generate_is_deterministic_and_parses(tmp_path):
    first, second, other = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl"
    assert main(["generate", "-n", "50", "--seed", "9", "-o", str(first)]) == 0
    assert main(["generate", "-n", "50", "--seed", "9", "-o", str(second)]) == 0
    assert main(["generate", "-n", "50", "--seed", "10", "-o", str(other)]) == 0
    text = first.read_text(encoding="utf-8")
    with gzip.open(second, "rt", encoding="utf-8") as stream:
        assert stream.read() == text
    assert other.read_text(encoding="utf-8") != text
    timelines = slaengine.read_events(first)
    assert len(timelines.timelines) == 50
    assert not timelines.problems


def test_generate_rejects_bad_arguments(capsys):
    assert main(["generate", "--days", "0"]) == 2
    assert main(["generate", "--start", "2025-01-01"]) == 2
    assert "--start" in capsys.readouterr().err


def test_a_cancelled_clock_is_cancelled_not_open(tmp_path, capsys):
    """kpis.md's 'open' is active + paused; a clock a solve stopped within target is
    'cancelled' in flips (both count neither way in compliance)."""
    policy = (
        "version: 1\npolicies:\n  - name: p\n    metrics:\n      first_response: {targets: %s}\n"
    )
    (tmp_path / "cur.yaml").write_text(policy % "30m", encoding="utf-8")
    (tmp_path / "new.yaml").write_text(policy % "2h", encoding="utf-8")
    rows = [
        {
            "ticket": "S-1",
            "at": "2025-11-03T09:00:00Z",
            "type": "created",
            "channel": "chat",
            "priority": "normal",
        },
        {"ticket": "S-1", "at": "2025-11-03T10:00:00Z", "type": "status", "status": "solved"},
        {
            "ticket": "R-1",
            "at": "2025-11-30T23:00:00Z",
            "type": "created",
            "channel": "chat",
            "priority": "normal",
        },
    ]
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    flips = tmp_path / "flips.csv"
    args = ["whatif", "-p", str(tmp_path / "cur.yaml"), "-a", str(tmp_path / "new.yaml")]
    assert main([*args, "-e", str(events), "--at", NOW, "--flips", str(flips)]) == 0
    assert (
        "│ S-1    │ First response │ 1 │ breached -> cancelled │ p      │"
        in capsys.readouterr().out
    )
    with flips.open(encoding="utf-8") as stream:
        found = [(r["ticket"], r["old"], r["new"]) for r in csv.DictReader(stream)]
    # R-1 is still running within 2h but breached under 30m: it is open.
    assert found == [("R-1", "breached", "open"), ("S-1", "breached", "cancelled")]
