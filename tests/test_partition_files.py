"""A spill into more partitions than the process may open files: the same partitions, read
back the same, whether the open-file limit is raised, or cannot be and rows are buffered."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")

PARTITIONS = 300

# Run in a fresh process whose RLIMIT_NOFILE is set first: spill a shuffled file into
# PARTITIONS partitions with two spill processes and two workers, print what came back.
_SCRIPT = """
import json, resource, sys
soft, hard = int(sys.argv[2]), int(sys.argv[3])
if soft:
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard if hard else soft))
from slaengine.batches import map_tickets
from slaengine.batches import partition_files

held = []
class Watched(partition_files.PartitionFiles):
    def __init__(self, paths, *args):
        super().__init__(paths, *args)
        held.append(self.held_open)
import slaengine.batches.spill as spill_module
spill_module.PartitionFiles = Watched

def tickets(timelines):
    return sorted(
        (ticket, [event.line for event in timeline.events])
        for ticket, timeline in timelines.timelines.items()
    )

batch = map_tickets(sys.argv[1], tickets, jobs=2, partitions=int(sys.argv[4]))
print(json.dumps({
    "results": batch.results,
    "problems": [[p.line, p.code] for p in batch.problems],
    "duplicates": batch.duplicates,
    "lines": batch.lines,
    "held_open": held,
    "soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
}))
"""


def _shuffled_events(path: Path) -> None:
    lines = []
    for ticket in range(900):
        at = f"2025-12-01T10:{ticket % 60:02d}:00Z"
        created = {"type": "created", "channel": "email", "priority": "normal"}
        reply = {"type": "message", "author": "agent", "id": f"m{ticket}"}
        for event in (created, reply):
            lines.append(json.dumps({"ticket": f"T{ticket:04d}", "at": at, **event}))
    random.Random(11).shuffle(lines)
    lines.insert(100, "{not json")
    lines.insert(700, '{"ticket": "T0001", "at": "never", "type": "created"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _script(script: str, *argv: str) -> dict:
    # ``script`` in a process of its own (its limits changed there only); what it printed.
    run = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _spilled(events: Path, soft: int, hard: int, partitions: int = PARTITIONS) -> dict:
    return _script(_SCRIPT, str(events), str(soft), str(hard), str(partitions))


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    events = tmp_path_factory.mktemp("limits") / "events.jsonl"
    _shuffled_events(events)
    return events, _spilled(events, 0, 0)


def test_a_spill_under_a_hard_limit_buffers_its_rows_and_loses_nothing(shuffled):
    events, unlimited = shuffled
    assert unlimited["held_open"] == [True]  # the parent's share of the spill: every file open
    # 100 files at most, hard limit too: 300 partitions cannot be open at once.
    limited = _spilled(events, 100, 100)
    assert limited["soft"] == 100
    assert limited["held_open"] == [False]
    assert limited == {**unlimited, "held_open": limited["held_open"], "soft": 100}
    tickets = [ticket for part in limited["results"] for ticket, _ in part]
    assert len(tickets) == len(set(tickets)) == 900
    assert [line for line, _ in limited["problems"]] == [101, 701]


def test_a_low_soft_limit_is_raised_to_what_the_partitions_need(shuffled):
    events, unlimited = shuffled
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < PARTITIONS + 200:
        pytest.skip(f"the hard limit ({hard}) leaves no room to raise the soft one")
    raised = _spilled(events, 100, hard)
    assert raised["held_open"] == [True]
    assert raised["soft"] > PARTITIONS
    assert raised == {**unlimited, "soft": raised["soft"]}


def test_buffered_partition_files_hold_what_open_ones_do(tmp_path: Path, monkeypatch):
    from slaengine.batches import partition_files
    from slaengine.batches.partition_files import PartitionFiles

    rows = [(index % 7, f"{index}\trow {index}\n".encode()) for index in range(5000)]
    written = {}
    for held in (True, False):
        if not held:  # no room for any file: every partition buffered
            monkeypatch.setattr(partition_files, "open_files", lambda wanted: 0)
        paths = [tmp_path / f"{held}-{i}.tsv" for i in range(7)]
        with PartitionFiles(paths) as files:
            assert files.held_open is held
            files.size = 512  # buffers fill many times over
            for count, (index, row) in enumerate(rows, start=1):
                files.writes[index](row)
                if count % 100 == 0:
                    files.block_done()
        written[held] = [path.read_bytes() for path in paths]
    assert written[True] == written[False]
    assert written[True][3] == b"".join(row for index, row in rows if index == 3)


def test_a_parquet_spill_under_a_hard_limit_holds_what_fits_open_and_loses_nothing(
    shuffled, tmp_path: Path
):
    # Arrow writes a partition's file whole, so its writer stays open until the end: under
    # a limit lower than the partitions, the file is read once per window of partitions.
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    events, _ = shuffled
    rows = []
    for line in events.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            rows.append({"ticket": "T0002", "at": "never", "type": "created"})  # a bad row
    columns = sorted({key for row in rows for key in row})
    table = pa.table({key: [row.get(key) for row in rows] for key in columns})
    parquet = tmp_path / "events.parquet"
    pq.write_table(table, parquet, row_group_size=300)
    unlimited = _spilled(parquet, 0, 0)
    limited = _spilled(parquet, 100, 100)
    assert limited["soft"] == 100
    assert limited == {**unlimited, "soft": 100}
    tickets = [ticket for part in limited["results"] for ticket, _ in part]
    assert len(tickets) == len(set(tickets)) == 900
    assert [line for line, _ in limited["problems"]] == [101, 701]


# In a fresh process with a soft RLIMIT_NOFILE of 100 and the hard one as it is: the fine
# partition count of a file sized as two million lines, the soft limit after it, then
# evaluate of the shuffled file spilled into argv[2] parts (0: the fine count) in 2 jobs.
_FINE_SCRIPT = """
import io, json, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (100, hard))
import slaengine, slaengine.stream as stream
from slaengine.batches import sizing
count = sizing.fine_partition_count(sys.argv[3])
after = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
parts = int(sys.argv[2])
if parts:
    stream.fine_partition_count = lambda path: parts
out = io.StringIO()
policies = slaengine.load_policies(sys.argv[4])
stream.evaluate_stream(policies, sys.argv[1], stream.StreamOptions(now=1767225600), out, jobs=2)
print(json.dumps({"count": count, "soft": after, "output": out.getvalue()}))
"""


def _fine(events: Path, sized: Path, parts: int) -> dict:
    root = Path(__file__).resolve().parent.parent
    return _script(_FINE_SCRIPT, str(events), str(parts), str(sized), str(root / "policies"))


def test_the_fine_partition_count_leaves_the_limit_and_the_merge_raises_it(shuffled, tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2 * PARTITIONS + 200:
        pytest.skip(f"the hard limit ({hard}) leaves no room to raise the soft one")
    from slaengine.batches import sizing

    events, _ = shuffled
    sized = tmp_path / "sized.jsonl"
    with sized.open("wb") as out:
        out.truncate(100 * 2_000_000)  # sized as two million lines
    found = _fine(events, sized, PARTITIONS)
    # Counted as if the limit were raised, which it is not until files are opened.
    assert found["soft"] == 100
    assert found["count"] == sizing.fine_partition_count(sized) > (100 - sizing.SPARE_FILES) // 3
    # 300 parts merged (two files each): the merge raises the limit it needs.
    assert found["output"] == _fine(events, sized, 0)["output"]
    assert found["output"].count("\n") == 900
