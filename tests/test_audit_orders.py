"""An audit gives the same document whatever the order of its input lines and the jobs."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

import pytest

import slaengine
from slaengine.audit import AuditOptions, audit_file
from slaengine.audit.breach_order import natural_key
from slaengine.event_parsing import parse_instant
from slaengine.inputs.synthetic import write_jsonl
from slaengine.report.audit import audit_to_dict

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2,000 synthetic tickets grouped by ticket (read in chunks) and shuffled (spilled), and
    the shuffled lines as Parquet (other partitions again)."""
    folder = tmp_path_factory.mktemp("orders")
    grouped = folder / "grouped.jsonl"
    write_jsonl(grouped, 2000, seed=11, start=dt.datetime(2025, 9, 1, tzinfo=dt.UTC), days=30)
    lines = grouped.read_text(encoding="utf-8").splitlines()
    random.Random(4).shuffle(lines)
    shuffled = folder / "shuffled.jsonl"
    shuffled.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "grouped": grouped,
        "shuffled": shuffled,
        "parquet": _parquet(folder / "shuffled.parquet", lines),
    }


def _parquet(path: Path, lines: list[str]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [json.loads(line) for line in lines]
    keys = sorted({key for row in rows for key in row})
    columns = {key: [row.get(key) for row in rows] for key in keys}
    columns["fields"] = [None if f is None else json.dumps(f) for f in columns["fields"]]
    pq.write_table(pa.table(columns), path, row_group_size=1000)
    return path


@pytest.mark.parametrize("by", [("channel", "priority"), ("agent", "period")])
def test_grouped_shuffled_and_jobs_give_one_document(
    inputs: dict[str, Path], tmp_path: Path, by: tuple[str, ...]
) -> None:
    policies = slaengine.load_policies(REPO_ROOT / "policies")
    options = AuditOptions(
        now=parse_instant("2025-10-01T00:00:00Z"), zone="Europe/Berlin", by=by, goals=True
    )
    documents: dict[tuple[str, int, bool], str] = {}
    breaches: dict[tuple[str, int], list[list[str]]] = {}
    for order, path in inputs.items():
        for jobs in (1, 2):
            out = tmp_path / f"breaches-{order}-{jobs}.csv"
            audit, batch = audit_file(policies, path, options, jobs=jobs, breaches=out)
            doc = audit_to_dict(audit, batch, source="x", now=options.now, by=by)
            documents[order, jobs, True] = json.dumps(doc)
            with out.open(encoding="utf-8", newline="") as rows:
                breaches[order, jobs] = list(csv.reader(rows))
            # The command line's way: each view's values let go once its KPIs are computed.
            audit, batch = audit_file(policies, path, options, jobs=jobs, keep_values=False)
            released = audit.view(())[()]
            assert released.released
            assert not released.customers
            doc = audit_to_dict(audit, batch, source="x", now=options.now, by=by)
            documents[order, jobs, False] = json.dumps(doc)
    reference = documents["grouped", 1, True]
    assert json.loads(reference)["input"]["tickets"] == 2000
    assert json.loads(reference)["overall"]["compliance"]["breached"] > 0
    assert all(doc == reference for doc in documents.values())
    # The breached clocks: one file, row for row, whatever the input's layout, format
    # (and so partitions) and the jobs; sorted by ticket, then due instant.
    reference_rows = breaches["grouped", 1]
    rows = reference_rows[1:]
    assert len(rows) > 10
    for key, found in breaches.items():
        assert found == reference_rows, key
    assert rows == sorted(rows, key=lambda row: (natural_key(row[0]), row[0], row[9], row[6]))
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)  # ids of one width


def test_released_values_cannot_give_kpis_again() -> None:
    from slaengine.audit import GroupStats, group_kpis
    from slaengine.audit.facts import TicketFacts

    group = GroupStats()
    group.add_facts(TicketFacts(1, 1, 1, "a", True, True, False, False, 60, None, 3), 7)
    with pytest.raises(ValueError, match="before releasing"):
        group.release_values()
    before = group_kpis(group)
    group.release_values()
    assert group_kpis(group) == before  # kept
    assert not group.customers
    merged = GroupStats()
    merged.merge(group)
    with pytest.raises(ValueError, match="released"):
        group_kpis(merged)  # its values are gone: no KPIs computed from nothing
