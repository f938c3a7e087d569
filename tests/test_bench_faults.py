"""The fault-injection benchmark at CI size: kills, two PostgreSQL workers, hostile receivers.

``benchmarks/bench_faults.py --small`` as a test: 8 SIGKILLs of two workers on
PostgreSQL with a slow receiver, then one worker on SQLite with a trickling and a
hung receiver, poison lines in both sources. Nothing may be lost, no repeat may
lack a kill to explain it, every poison line is a reject, and SIGTERM stops the
worker within seconds while deliveries hang.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from live_support import postgres_server_fixture  # noqa: F401 (fixture)

pytest.importorskip("slaengine_webhook", reason="the bundled webhook plugin is not installed")
pytest.importorskip("slaengine_jsonl", reason="the bundled jsonl source plugin is not installed")

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_faults.py"
_SPEC = importlib.util.spec_from_file_location("bench_faults", _PATH)
assert _SPEC is not None
assert _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules["bench_faults"] = bench  # its dataclasses look their module up
_SPEC.loader.exec_module(bench)


def test_faults_lose_nothing_repeat_only_after_kills_and_quarantine_poison(postgres_server):
    postgres_server.reset()
    kills, hostile = bench.run(postgres_server.url, kills=8, tickets=6, hostile_tickets=4)
    print(bench.HEADER)
    print(kills.line())
    print(hostile.line())

    for outcome in (kills, hostile):
        assert outcome.lost == 0, outcome.expected - outcome.received
        assert outcome.unexplained == []
        assert (outcome.rejects, outcome.events) == (outcome.poison, outcome.tickets)
    assert kills.kills == 8
    assert kills.starts == 8 + 2  # each worker started once more after each kill
    assert len(kills.duplicated) <= kills.kills
    # A trickling and a hung receiver neither stop the worker nor hold up the healthy one.
    assert hostile.starts == 1
    assert hostile.duplicated == []
    assert max(hostile.lateness) < 5
    assert hostile.stop_seconds < 5
