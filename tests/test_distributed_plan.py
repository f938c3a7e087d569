"""The cuts a Dask run plans on the client are the cuts a local run makes (no cluster needed)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slaengine.batches.chunks import write_chunks
from slaengine.batches.routes import ticket_routes
from slaengine.batches.spill_rows import spilled_rows
from slaengine.distributed.plan import chunk_cuts, line_blocks
from slaengine.distributed.tasks import count_range, split_lines, stable_hash
from slaengine.inputs.files import TEXT_ERRORS
from slaengine.inputs.synthetic import write_jsonl
from slaengine.inputs.tickets import TicketRoutes, ticket_of


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "grouped.jsonl"
    write_jsonl(path, 400, 9, dt.datetime(2025, 9, 1, tzinfo=dt.UTC), 30)
    return path


@pytest.mark.parametrize("chunk_bytes", [1 << 16, 70_001, 200_000, 10_000_000])
def test_chunk_cuts_are_the_local_chunks(grouped, tmp_path, chunk_bytes):
    chunks = list(write_chunks(grouped, tmp_path, chunk_bytes))
    sizes = [chunk.path.stat().st_size for chunk in chunks]
    cuts = chunk_cuts(grouped, chunk_bytes)
    assert [b - a for a, b in itertools.pairwise(cuts)] == sizes
    # And the line numbers the workers count are the chunks' first lines.
    first = 1
    for chunk, a, b in zip(chunks, cuts, cuts[1:], strict=False):
        assert chunk.first == first
        first += count_range(str(grouped), a, b)[0]


def test_a_ticket_larger_than_the_rest_is_one_chunk(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text("".join(f'{{"ticket": "T-{n // 50}", "n": {n}}}\n' for n in range(100)))
    cuts = chunk_cuts(path, 1 << 16)
    assert cuts == [0, path.stat().st_size]
    assert len(list(write_chunks(path, tmp_path / "c", 1 << 16))) == 1


@pytest.mark.parametrize("ranged", [False, True], ids=["hash", "ranges"])
def test_line_blocks_split_whole_lines_and_splits_keep_every_line(grouped, ranged):
    routes = ticket_routes(grouped, 8) if ranged else TicketRoutes(8)
    assert bool(routes.bounds) == ranged
    cuts = line_blocks(grouped, 50_000)
    assert len(cuts) > 3
    data = grouped.read_bytes()
    assert all(data[cut - 1 : cut] == b"\n" for cut in cuts[1:-1])
    first, kept = 1, []
    for a, b in itertools.pairwise(cuts):
        groups = split_lines(str(grouped), a, b, first, routes, 3)
        assert [len(group) for group in groups] == [3, 3, 2]
        for g, group in enumerate(groups):
            for i, piece in enumerate(group):
                for number, line in spilled_rows(piece):
                    # Every line is in the partition of its ticket.
                    assert routes.of(ticket_of(line.decode()) or "") == g * 3 + i
                    kept.append((number, line.decode()))
        first += count_range(str(grouped), a, b)[0]
    lines = data.decode().splitlines()
    assert sorted(kept) == list(enumerate(lines, 1))


def test_stable_hash_does_not_depend_on_the_process():
    script = "from slaengine.distributed.tasks import stable_hash; print(stable_hash('T-1'))"
    seen = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, check=True, timeout=120)  # fmt: skip
        seen.add(int(done.stdout))
    assert seen == {stable_hash("T-1")}


def test_the_collector_is_paused_while_partition_tasks_run_and_restored_after():
    import gc

    from slaengine.batches.collector import collector_paused

    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # another task still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a process that had it off keeps it off
    finally:
        gc.enable()


# Plain lines, and lines the byte search leaves to the decoder: escapes, a second "ticket",
# bytes outside UTF-8, a numeric id, blank and bad lines.
UNUSUAL = [
    b'{"ticket": "A", "type": "created", "at": "2025-09-01T00:00:00Z"}',
    b'{"ticket": "B\\u00e9", "type": "created", "at": "2025-09-01T00:00:00Z"}',
    b"",
    b'{"x\\"ticket": "C", "ticket": "D", "type": "message"}',
    b'{"ticket": "E", "ticket": "F", "type": "message"}',
    b'{"ticket": "G\xff", "type": "message"}',
    b'{"ticket": 17, "type": "message"}',
    b"{not json",
    b'{"type": "message"}',
    '{"ticket": "H\u00e9", "type": "message"}'.encode(),
    b"   ",
]


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "unusual"])
@pytest.mark.parametrize("ranged", [False, True], ids=["hash", "ranges"])
def test_split_lines_writes_what_the_local_spill_writes(tmp_path, plain, ranged):
    from slaengine.batches.spill import spill_file

    lines = [b'{"ticket": "T-%d", "type": "message", "n": %d}' % (n % 37, n) for n in range(300)]
    if not plain:
        lines[100:100] = UNUSUAL
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    routes = ticket_routes(path, 5) if ranged else TicketRoutes(5)
    spilled = spill_file(path, tmp_path / "spill", 5, "events", routes=routes)
    groups = split_lines(str(path), 0, path.stat().st_size, 1, routes, 1)
    assert groups[0] == [part.read_bytes() for part in spilled.paths]


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "unusual"])
def test_ticket_hashes_are_those_of_each_lines_ticket(plain):
    from slaengine.distributed.tasks import ticket_hashes

    lines = [b'{"ticket": "T-%d", "type": "message", "n": %d}' % (n % 37, n) for n in range(300)]
    if not plain:
        lines[100:100] = UNUSUAL
    data = b"\n".join(lines) + b"\n"
    tickets = {ticket_of(raw.decode("utf-8", TEXT_ERRORS)) for raw in lines if raw.strip()}
    expected = {stable_hash(ticket) for ticket in tickets if ticket is not None}
    buckets = ticket_hashes(data, 3)
    assert len(buckets) == 3
    assert sorted(v for bucket in buckets for v in bucket) == sorted(expected)
    assert all(v % 3 == b for b, bucket in enumerate(buckets) for v in bucket)
