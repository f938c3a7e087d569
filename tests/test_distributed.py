"""Audits and backtests on a Dask cluster: two worker processes on 127.0.0.1, one per module.

Every Dask run is compared with the local run of the same command: the same
bytes of JSON (and breaches CSV), whichever way the input is laid out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import faulthandler
import io
import json
import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from slaengine.cli import main
from slaengine.inputs.synthetic import write_jsonl
from slaengine.timeline import TimelineSet

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

ROOT = Path(__file__).resolve().parent.parent
AT = "2025-12-03T16:00:00Z"
# The whole module, cluster start included, ends within this many seconds or dumps and exits
# (a hang must not eat the whole CI run). About a minute on an idle machine, nearly four on a
# loaded one: the bound only catches a hang.
BOUND = 1200


def _two_workers() -> distributed.LocalCluster:
    """A local cluster of two worker processes on 127.0.0.1 (a dead worker's task: one retry)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        return distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # None means the default port 8787
        )


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of the module's cluster (:func:`_two_workers`)."""
    faulthandler.dump_traceback_later(BOUND, exit=True)
    cluster = _two_workers()
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def client(scheduler: str) -> Iterator[distributed.Client]:
    with distributed.Client(scheduler, set_as_default=False) as found:
        found.wait_for_workers(2, timeout=180)
        yield found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2,000 generated tickets grouped and shuffled, as JSON Lines, gzip, CSV and Parquet."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    tmp = tmp_path_factory.mktemp("dask")
    grouped = tmp / "grouped.jsonl"
    write_jsonl(grouped, 2_000, 11, dt.datetime(2025, 9, 1, tzinfo=dt.UTC), 60)
    lines = grouped.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    shuffled = tmp / "shuffled.jsonl"
    shuffled.write_text("".join(lines), encoding="utf-8")
    found = {"examples": ROOT / "examples" / "tickets.jsonl", "grouped": grouped,
             "shuffled": shuffled}  # fmt: skip
    for name in ("grouped", "shuffled"):
        rows = [json.loads(line) for line in found[name].read_text().splitlines()]
        keys = sorted({key for row in rows for key in row} - {"fields", "tags"})
        table = pa.table({key: [row.get(key) for row in rows] for key in keys})
        found[f"{name}.parquet"] = tmp / f"{name}.parquet"
        pq.write_table(table, found[f"{name}.parquet"], row_group_size=2_500)
    gz = tmp / "shuffled.jsonl.gz"
    assert main(["generate", "--tickets", "300", "--seed", "4", "-o", str(gz)]) == 0
    found["generated.gz"] = gz
    # A grouped file with one ticket's first event moved to the end.
    moved = tmp / "moved.jsonl"
    first = grouped.read_text(encoding="utf-8").splitlines(keepends=True)
    moved.write_text("".join(first[1:]) + first[0], encoding="utf-8")
    found["moved"] = moved
    return found


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    # Log records carry the time they were written: compared without them.
    said = [line for line in err.getvalue().splitlines() if '"timestamp"' not in line]
    return code, out.getvalue(), "\n".join(said)


@pytest.mark.parametrize(
    "name",
    ["examples", "grouped", "shuffled", "grouped.parquet", "shuffled.parquet", "generated.gz",
     "moved"],
)  # fmt: skip
def test_audit_on_dask_prints_the_local_json(scheduler, inputs, name, tmp_path):
    command = ["audit", "-p", str(ROOT / "policies"), "-e", str(inputs[name]), "--at", AT,
               "--json", "--by", "channel,agent"]  # fmt: skip
    local = _run([*command, "--breaches", str(tmp_path / "local.csv")])
    remote = _run([*command, "--breaches", str(tmp_path / "dask.csv"), "--scheduler", scheduler])
    assert remote == local
    assert json.loads(local[1])["input"]["tickets"] > 0
    local_csv = (tmp_path / "local.csv").read_bytes()
    assert local_csv.count(b"\n") > 1  # breaches were written
    assert (tmp_path / "dask.csv").read_bytes() == local_csv


def test_audit_with_problems_reports_the_same_lines(scheduler, inputs, tmp_path):
    # Bad lines spread over the file: the problems carry the input's line numbers.
    lines = inputs["shuffled"].read_text(encoding="utf-8").splitlines(keepends=True)
    for at in (5, 4_000, len(lines) - 3):
        lines[at] = '{"ticket": "X-1", "type": "nonsense"\n'
    lines.insert(100, "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines), encoding="utf-8")
    command = ["audit", "-p", str(ROOT / "policies"), "-e", str(bad), "--at", AT, "--json"]
    local = _run(command)
    assert local[0] == 1
    assert _run([*command, "--scheduler", scheduler]) == local


@pytest.mark.parametrize("name", ["grouped", "shuffled", "shuffled.parquet"])
def test_whatif_on_dask_prints_the_local_json(scheduler, inputs, name, tmp_path):
    tighter = tmp_path / "tighter.yaml"
    text = (ROOT / "policies" / "support.yaml").read_text(encoding="utf-8")
    tighter.write_text(text.replace("normal: 8h", "normal: 2h"), encoding="utf-8")
    command = ["whatif", "-p", str(ROOT / "policies"), "-a", str(tighter),
               "-e", str(inputs[name]), "--at", AT, "--json"]  # fmt: skip
    local = _run([*command, "--flips", str(tmp_path / "local.csv")])
    remote = _run([*command, "--flips", str(tmp_path / "dask.csv"), "--scheduler", scheduler])
    assert remote == local
    assert json.loads(local[1])["flips"]
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


def test_python_api_takes_a_client(client, inputs):
    import slaengine
    from slaengine.audit import AuditOptions, audit_file
    from slaengine.distributed import audit_on_dask

    policies = slaengine.load_policies(ROOT / "policies")
    options = AuditOptions(now=int(dt.datetime(2025, 12, 3, 16, tzinfo=dt.UTC).timestamp()))
    audit, batch = audit_on_dask(client, policies, inputs["shuffled"], options)
    local, local_batch = audit_file(policies, inputs["shuffled"], options)
    assert (audit.tickets, audit.events, batch.partitions, batch.lines) == (
        local.tickets, local.events, local_batch.partitions, local_batch.lines,
    )  # fmt: skip
    assert audit.tickets == 2_000


def _tickets(timelines: TimelineSet) -> int:
    return len(timelines.timelines)


@pytest.mark.parametrize(
    ("name", "restarts"), [("grouped", 0), ("moved", 1), ("shuffled", 1), ("grouped.parquet", 0)]
)
def test_a_file_that_is_not_grouped_after_all_starts_again(
    client, inputs, name, restarts, monkeypatch
):
    from slaengine.distributed import map_tickets_dask, runner

    # Past the start a local run checks: try chunks whatever the file holds.
    monkeypatch.setattr(runner, "chunkable", lambda path: True)
    counts: list[int] = []
    restarted: list[int] = []

    def restart() -> None:
        counts.clear()
        restarted.append(1)

    batch = map_tickets_dask(client, inputs[name], _tickets, status_map={}, partitions=8,
                             fold=counts.append, restart=restart)  # fmt: skip
    assert len(restarted) == restarts
    assert sum(counts) == 2_000
    assert len(counts) == batch.partitions
    assert batch.lines == len(inputs["grouped"].read_text().splitlines())


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "no scheme at all:x"])
def test_a_bad_scheduler_address_is_a_user_error(address, inputs):
    code, out, err = _run(["audit", "-p", str(ROOT / "policies"), "-e",
                           str(inputs["examples"]), "--scheduler", address])  # fmt: skip
    assert code == 2
    assert out == ""
    assert "--scheduler: cannot reach a Dask scheduler" in err
    assert "Traceback" not in err


def _die(timelines: object) -> object:
    # Ends the worker process running it, as a crash or the memory limit would.
    os._exit(3)


#: Seconds the dying-worker run may take before the test fails (it must not hang the session).
SOFT_LIMIT = 300  # about 45 s on a loaded machine


@contextlib.contextmanager
def _own_cluster() -> Iterator[distributed.Client]:
    """A client of a cluster of its own (two worker processes on 127.0.0.1), torn down whatever
    happens: closed with time limits, then any process it left behind ended by its id."""
    import multiprocessing.resource_tracker

    import psutil

    # The resource tracker is this process's, whichever cluster starts it: not ended below
    # (a later cluster's workers would warn that it died).
    multiprocessing.resource_tracker.ensure_running()
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    client = None
    cluster = _two_workers()
    try:
        client = distributed.Client(cluster, set_as_default=False)
        client.wait_for_workers(2, timeout=180)
        yield client
    finally:
        started = [c for c in me.children(recursive=True) if c.pid not in before]
        with contextlib.suppress(Exception):
            if client is not None:
                client.close(timeout=10)
        with contextlib.suppress(Exception):
            cluster.close(timeout=20)
        for process in started:  # only what this cluster started
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(started, timeout=10)


def _run_in_thread(
    client: Any, events: Path, work: Callable[[TimelineSet], object], name: str
) -> tuple[threading.Thread, list[BaseException | None]]:
    # map_tickets_dask of ``events`` started in a daemon thread; the list gets the run's
    # exception, or None, once it ends.
    from slaengine.distributed import map_tickets_dask

    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            map_tickets_dask(client, events, work, status_map={}, partitions=8,
                             fold=lambda part: None, restart=lambda: None)  # fmt: skip
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)
        else:
            outcome.append(None)

    runner = threading.Thread(target=run, name=name, daemon=True)
    runner.start()
    return runner, outcome


def test_a_worker_dying_mid_run_is_reported(inputs):
    from slaengine.distributed import ClusterError

    with _own_cluster() as client:
        # In a thread of its own, so that a run that never ends fails this test instead
        # of hanging the session; leaving the cluster cancels whatever it still waits for.
        runner, outcome = _run_in_thread(client, inputs["shuffled"], _die, "dying-worker-run")
        runner.join(SOFT_LIMIT)
        hung = runner.is_alive()
    runner.join(30)
    if hung:
        pytest.fail(f"the run did not end within {SOFT_LIMIT} s of its workers dying")
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, ClusterError), repr(error)
    assert "worker died" in str(error)
    # The first task to fail ends the run, whichever group it evaluates.
    assert re.search(r"partitions group [12] of 2", str(error)), str(error)


def _first_waits_others_fail(release: str, lowest: str, timelines: TimelineSet) -> object:
    # The partition of the lowest ticket id (the first group of a shuffle) waits until the
    # file ``release`` exists (five minutes at most); every other partition fails.
    import time

    if lowest in timelines.timelines:
        deadline = time.monotonic() + 300
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.2)
        return None
    raise RuntimeError("this partition fails")


def test_a_failed_task_ends_the_run_while_an_earlier_one_still_runs(client, inputs, tmp_path):
    # The first group's task never ends before the run does; the second group's fails. The
    # run must report the failure, not wait on the first group for ever (as when a worker's
    # death leaves a task waiting on the scheduler, its inputs lost and never made again).
    import functools

    from slaengine.distributed import ClusterError

    release = tmp_path / "release"
    lines = inputs["shuffled"].read_text(encoding="utf-8").splitlines()
    lowest = min(json.loads(line)["ticket"] for line in lines)
    work = functools.partial(_first_waits_others_fail, str(release), lowest)
    runner, outcome = _run_in_thread(client, inputs["shuffled"], work, "failing-run")
    try:
        runner.join(SOFT_LIMIT / 2)
        hung = runner.is_alive()
    finally:
        release.touch()  # the first group's task ends: the cluster is free for the next test
    runner.join(60)
    assert not hung, "the run waited on its first group while its second had failed"
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, ClusterError), repr(error)
    assert "partitions group 2 of 2 failed" in str(error)
    assert "this partition fails" in str(error)


def _first_fails_late(lowest: str, timelines: TimelineSet) -> object:
    # Every partition fails as a bad input does; the lowest ticket's (the first group's) last.
    import time

    from slaengine.errors import UserError

    if lowest in timelines.timelines:
        time.sleep(3)
        raise UserError("the first group's input")
    raise UserError("a later group's input")


def test_an_error_of_the_input_is_the_first_in_order_as_locally(client, inputs):
    # Errors of the input (not of the cluster) are raised in partition order, as a local run
    # raises them: the same message whichever task fails first.
    import functools

    from slaengine.distributed import map_tickets_dask
    from slaengine.errors import UserError

    lines = inputs["shuffled"].read_text(encoding="utf-8").splitlines()
    lowest = min(json.loads(line)["ticket"] for line in lines)
    work = functools.partial(_first_fails_late, lowest)
    with pytest.raises(UserError, match="the first group's input"):
        map_tickets_dask(client, inputs["shuffled"], work, status_map={}, partitions=8,
                         fold=lambda part: None, restart=lambda: None)  # fmt: skip


def _collector_state(timelines: TimelineSet) -> bool:
    import gc

    return gc.isenabled()


def test_worker_processes_pause_their_collector_but_never_the_clients(client, inputs):
    import gc

    from slaengine.distributed import map_tickets_dask

    states: list[bool] = []
    map_tickets_dask(client, inputs["shuffled"], _collector_state, status_map={},
                     fold=states.append, restart=states.clear)  # fmt: skip
    assert states
    assert not any(states)  # paused in each worker process while its partition ran
    # Threads of this process that talk in memory (inproc://): no network at all.
    with (
        distributed.LocalCluster(
            n_workers=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as here,
        distributed.Client(here, set_as_default=False) as inside,
    ):
        states.clear()
        map_tickets_dask(inside, inputs["shuffled"], _collector_state, status_map={},
                         fold=states.append, restart=states.clear)  # fmt: skip
    assert states
    assert all(states)  # a worker in this very process leaves its collector alone
    assert gc.isenabled()


def test_the_base_install_does_not_import_dask():
    script = (
        "import sys, slaengine, slaengine.cli, slaengine.distributed\n"
        "from slaengine.cli import build_parser\n"
        "build_parser()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)


def test_a_scheduler_without_workers_is_a_user_error():
    from slaengine.distributed import connected
    from slaengine.errors import UserError

    with (
        distributed.LocalCluster(
            n_workers=0,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as empty,
        pytest.raises(UserError, match="has no workers"),
        connected(empty.scheduler_address, timeout=5),  # reaching it may take a while
    ):
        pass


@pytest.mark.parametrize("name", ["grouped.parquet", "shuffled"])
def test_a_relative_path_is_named_as_given(scheduler, inputs, name, monkeypatch):
    monkeypatch.chdir(inputs[name].parent)
    command = ["audit", "-p", str(ROOT / "policies"), "-e", inputs[name].name, "--at", AT, "--json"]
    local = _run(command)
    assert json.loads(local[1])["input"]["source"] == inputs[name].name
    assert _run([*command, "--scheduler", scheduler]) == local


@pytest.mark.parametrize("layout", ["grouped", "crlf", "shuffled"])
def test_hostile_input_audits_on_dask_as_locally(scheduler, layout, tmp_path):
    # Bad lines of every kind, odd ticket ids, daylight-saving changes and a ticket across
    # chunks (tests/hostile_timelines.py): the same document, problems and breaches.
    from hostile_timelines import LAYOUTS, hostile_events

    chosen = next(found for found in LAYOUTS if found.name == layout)
    events = chosen.write(hostile_events(2, tickets=60), tmp_path, 2)
    command = ["audit", "-p", str(ROOT / "policies"), "-e", str(events), "--at",
               "2026-04-20T00:00:00Z", "--json", "--by", "channel,agent"]  # fmt: skip
    local = _run([*command, "--breaches", str(tmp_path / "local.csv")])
    remote = _run([*command, "--breaches", str(tmp_path / "dask.csv"), "--scheduler", scheduler])
    assert local[0] == 1
    assert "E401" in local[2]
    assert remote == local
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
