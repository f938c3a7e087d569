"""Ranges of ticket ids for a spill: cut from a sample of the file, each ticket in its range."""

from __future__ import annotations

import bisect
import datetime as dt
import gzip
import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slaengine.batches.routes import range_bounds, ticket_routes
from slaengine.batches.spill import read_partition, spill_input
from slaengine.inputs.synthetic import write_jsonl
from slaengine.inputs.tickets import TicketRoutes, partition_of


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 generated tickets (ids issued in sequence) in random line order."""
    folder = tmp_path_factory.mktemp("routes")
    grouped = folder / "grouped.jsonl"
    write_jsonl(grouped, 600, seed=5, start=dt.datetime(2025, 9, 1, tzinfo=dt.UTC), days=30)
    lines = grouped.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(8).shuffle(lines)
    path = folder / "shuffled.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_range_bounds_cut_at_quantiles():
    keys = sorted(b"T-%04d" % n for n in range(1000))
    assert range_bounds(keys, 4) == (b"T-0250", b"T-0500", b"T-0750")
    # Few distinct ids: fewer cuts, never the smallest id (nothing would lie below it).
    assert range_bounds([b"a"] * 5 + [b"b"] * 5, 4) == (b"b",)
    assert range_bounds([b"a"] * 10, 4) == ()
    assert range_bounds([], 4) == ()


@given(st.lists(st.binary(max_size=6), max_size=200), st.integers(2, 20))
def test_range_bounds_are_valid_routes(keys: list[bytes], partitions: int):
    bounds = range_bounds(sorted(keys), partitions)
    routes = TicketRoutes(partitions, bounds)  # sorted, distinct, fewer than the partitions
    for key in keys:
        assert 0 <= routes.of_keys([key])[0] < partitions


@given(
    st.lists(st.binary(min_size=1, max_size=7), min_size=1, max_size=12, unique=True),
    st.lists(st.binary(max_size=9), max_size=300),
)
def test_ranges_remembered_by_prefix_are_the_binary_search(bounds: list[bytes], keys):
    # Ids near the bounds and sharing their prefixes too, not only random bytes.
    keys += [bound[:cut] + tail for bound in bounds for cut in (1, 3, 5) for tail in (b"", b"\xff")]
    routes = TicketRoutes(len(bounds) + 1, tuple(sorted(bounds)))
    expected = [bisect.bisect_right(routes.bounds, key) for key in keys]
    assert routes.of_keys(keys) == expected
    assert routes.of_keys(keys) == expected  # and again, from the remembered prefixes
    assert [routes.of(key.decode("utf-8", "surrogateescape")) for key in keys if key.isascii()] == [
        value for key, value in zip(keys, expected, strict=True) if key.isascii()
    ]


def test_ids_without_shared_prefixes_stop_being_remembered():
    bounds = tuple(sorted(b"%032x" % random.Random(k).getrandbits(128) for k in range(15)))
    routes = TicketRoutes(16, bounds)
    keys = [b"%032x" % random.Random(n).getrandbits(128) for n in range(100, 70_100)]
    assert routes.of_keys(keys) == [bisect.bisect_right(bounds, key) for key in keys]
    remembered = len(routes._prefixes or {})
    assert routes.of_keys(keys[:5000]) == [bisect.bisect_right(bounds, k) for k in keys[:5000]]
    assert len(routes._prefixes or {}) == remembered  # past the limit: a binary search each


def test_routes_send_text_and_bytes_alike():
    routes = TicketRoutes(4, (b"T-0250", b"T-0500", b"T-\xc3\xa9"))
    tickets = ["T-0001", "T-0250", "T-0499", "T-0500", "T-9999", "T-\u00e9", "T-\udcff", ""]
    keys = [t.encode("utf-8", errors="surrogatepass") for t in tickets]
    assert [routes.of(t) for t in tickets] == routes.of_keys(keys) == [0, 1, 1, 2, 2, 3, 3, 0]
    hashed = TicketRoutes(4)
    assert [hashed.of(t) for t in tickets] == hashed.of_keys(keys)
    assert [hashed.of(t) for t in tickets] == [partition_of(t, 4) for t in tickets]
    with pytest.raises(ValueError, match="bounds"):
        TicketRoutes(2, (b"b", b"a"))
    with pytest.raises(ValueError, match="bounds"):
        TicketRoutes(2, (b"a", b"b"))


def test_a_plain_file_is_routed_by_ranges_of_even_size(shuffled: Path, monkeypatch):
    import slaengine.batches.routes as routes_module

    whole = ticket_routes(shuffled, 6)
    assert len(whole.bounds) == 5
    # Sampled in windows (the file is larger than the windows together): about the same cuts.
    monkeypatch.setattr(routes_module, "SAMPLE_WINDOWS", 16)
    monkeypatch.setattr(routes_module, "SAMPLE_WINDOW_BYTES", 4096)
    sampled = ticket_routes(shuffled, 6)
    assert len(sampled.bounds) == 5
    assert ticket_routes(shuffled, 6) == sampled  # the file alone decides
    lines = shuffled.read_bytes().count(b"\n")
    for routes in (whole, sampled):
        sizes = [0] * 6
        for line in shuffled.read_text(encoding="utf-8").splitlines():
            ticket = line.split('"ticket": "', 1)[1].split('"', 1)[0]
            sizes[routes.of(ticket)] += 1
        assert max(sizes) < 2 * lines / 6, sizes


def test_input_that_cannot_be_sampled_is_hashed(shuffled: Path, tmp_path: Path):
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(shuffled.read_bytes()))
    assert ticket_routes(packed, 6) == TicketRoutes(6)
    assert ticket_routes(tmp_path / "missing.jsonl", 6) == TicketRoutes(6)
    assert ticket_routes(shuffled, 1) == TicketRoutes(1)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert ticket_routes(empty, 6) == TicketRoutes(6)


@pytest.mark.parametrize("workers", [1, 2])
def test_spilled_partitions_hold_ranges_of_tickets(shuffled: Path, tmp_path: Path, workers):
    spilled = spill_input(shuffled, tmp_path / "p", 6, "x", workers=workers)
    ranges = []
    for files in spilled.partition_files():
        tickets = sorted(read_partition(files, "x").timelines)
        assert tickets
        ranges.append((tickets[0], tickets[-1]))
    # Consecutive, disjoint ranges of ids: tickets created near each other stay together.
    assert ranges == sorted(ranges)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    assert (
        sum(len(read_partition(files, "x").timelines) for files in spilled.partition_files()) == 600
    )
