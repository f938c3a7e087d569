"""Run work over every ticket of an events file on a Dask cluster, partitioned as a local run is.

:func:`map_tickets_dask` is :func:`slaengine.batches.map_tickets` with the
partitions evaluated by Dask workers: the same partitions (so the same
``partitions`` count), each read by slaengine's own readers and handed to the
same work function, the results folded on the client in partition order.

- JSON Lines grouped by ticket: chunks of whole tickets at the cuts a local run
  makes (:func:`~slaengine.distributed.plan.chunk_cuts`); every worker reads its
  own byte range. Hashes of each chunk's tickets are checked, spread over tasks,
  for a ticket in two chunks; then, as locally, the run starts again split by ticket.
- Other JSON Lines: one shuffle. Readers split blocks of lines by ticket into
  the partitions of a local spill (the same routes: ranges of ticket ids); each
  partition task gathers its pieces from every reader.
- Parquet grouped by ticket: the row ranges of a local run; otherwise one
  shuffle of row groups, as for JSON Lines.
- gzip, CSV and standard input cannot be read in ranges: the client cuts or
  spills them as a local run does and sends each partition to a worker.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, TypeVar

from slaengine.batches import BatchResult
from slaengine.batches.chunks import NotGrouped, chunkable, write_chunks
from slaengine.batches.ranges import readable_in_ranges
from slaengine.batches.routes import ticket_routes
from slaengine.batches.sizing import chunk_bytes, partition_count
from slaengine.batches.spill import spill_input
from slaengine.distributed import plan, tasks
from slaengine.errors import SlaEngineError, UserError
from slaengine.inputs.files import (
    is_parquet,
    is_stream,
    is_table,
    source_name,
)
from slaengine.inputs.parquet import open_parquet
from slaengine.inputs.parquet_parts import parquet_ranges
from slaengine.timeline import TimelineSet

R = TypeVar("R")
Client = Any  # dask.distributed.Client: not imported unless a run asks for it

#: Bytes of JSON Lines per reader of a shuffle (a block and its split pieces in memory).
READ_BLOCK: Final = 128 << 20
#: Partitions evaluated by one task of a shuffle: fewer tasks moving pieces.
PARTITIONS_PER_TASK: Final = 4
#: Tasks checking that no ticket is in two chunks, at most.
CHECK_TASKS: Final = 64


class ClusterError(UserError):
    """The cluster could not finish the run (a worker died, a task failed): the message says so."""


# Errors of the input, raised by a task as a local run raises them (not failures of the cluster).
_INPUT_ERRORS: Final = (SlaEngineError, tasks.CarriageReturn, NotGrouped)


def map_tickets_dask(
    client: Client,
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    *,
    status_map: Mapping[str, str],
    fold: Callable[[R], None],
    restart: Callable[[], None],
    partitions: int | None = None,
) -> BatchResult[R]:
    """Apply ``work`` to every partition of the events at ``path`` on the cluster of ``client``.

    ``fold`` takes each partition's result in partition order; ``restart`` is
    called when a grouped file turns out not to be (what was folded is void).
    ``partitions`` defaults to a local run's
    (:func:`~slaengine.batches.sizing.partition_count`).
    Worker deaths and task failures raise :class:`ClusterError`; a bad input
    raises what a local run raises.
    """
    partitions = partitions or partition_count(path)
    run = _Run(client, work, source_name(path), dict(status_map), partitions, fold)
    try:
        if is_parquet(path):
            ranges = parquet_ranges(path, partitions)
            if ranges is not None:
                # Workers open the file by its absolute path: their directory may be another.
                return run.ranges([replace(r, path=os.path.abspath(r.path)) for r in ranges])
            return run.shuffle_parquet(os.path.abspath(path))
        if is_stream(path) or is_table(path):
            return run.spilled(path)
        if chunkable(path):
            try:
                return run.chunks(path)
            except NotGrouped:
                restart()
        return run.shuffle_lines(path)
    finally:
        run.close()


class _Run:
    """One run's client, work and results."""

    def __init__(
        self,
        client: Client,
        work: Callable[[TimelineSet], Any],
        source: str,
        status_map: dict[str, str],
        partitions: int,
        fold: Callable[[Any], None],
    ) -> None:
        self.client = client
        self.source = source
        self.status_map = status_map
        self.count = partitions
        self.fold = fold
        # Sent once, not with each task; a task, not scattered data, so that the
        # scheduler can make it again on another worker when one dies.
        self.work = client.submit(
            _value,
            tasks.OwnedWork(work, tasks.here()),
            pure=False,
            key=f"slaengine-work-{os.urandom(6).hex()}",
        )

    def close(self) -> None:
        """Release the work function (the tasks' futures are released as they go)."""
        with contextlib.suppress(Exception):
            self.client.cancel([self.work])

    def submit(self, function: Callable[..., Any], *args: Any, key: str) -> Any:
        """Submit a task under a unique key (the client keeps no reference: results are
        released on the workers as soon as their last future goes)."""
        return self.client.submit(function, *args, pure=False, key=f"{key}-{os.urandom(6).hex()}")

    def result(self, future: Any, what: str) -> Any:
        """The result of a task; a dead worker or failed task as a :class:`ClusterError`."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            raise ClusterError(
                f"the Dask cluster lost {what}: its worker died each time it ran it ({exc}); "
                "see the workers' logs (memory limit, crash)"
            ) from None
        except CancelledError as exc:
            raise ClusterError(
                f"the Dask cluster lost {what}: a worker died holding what it needed, or the "
                f"scheduler went away ({exc})"
            ) from None
        except _INPUT_ERRORS:
            raise
        except Exception as exc:
            raise ClusterError(
                f"{what} failed on the Dask cluster: {type(exc).__name__}: {exc}"
            ) from None

    def in_order(
        self, outputs: Sequence[tuple[Any, str]], watch: Sequence[tuple[Any, str]] = ()
    ) -> Iterator[Any]:
        """The results of ``outputs`` in their order, each future released once taken.

        Every future the run still holds (``outputs`` and ``watch``) is waited on at
        once, and the first that fails on the cluster ends the run with its
        :class:`ClusterError`, whichever output is next in order (an error of the
        input is raised in its output's turn: the one a local run raises). Waiting
        on the next output alone could wait for ever: when a worker dies, a task
        whose inputs were released (and then failed on being made again) can stay
        waiting on the scheduler, never failed, while the error goes to another of
        the run's futures. The watched futures are all done when the results are.
        """
        from distributed import as_completed

        what = {future.key: name for future, name in (*outputs, *watch)}
        order = [future for future, _ in outputs]
        ready: set[Any] = set()
        taken = 0
        everything = order + [future for future, _ in watch]
        arrivals: Any = as_completed(everything, loop=self.client.loop)  # type: ignore[no-untyped-call]
        for arrived in arrivals:
            if arrived.status == "cancelled" or (
                arrived.status == "error" and not isinstance(arrived.exception(), _INPUT_ERRORS)
            ):
                self.result(arrived, what[arrived.key])  # raises
            if arrived.status not in ("finished", "error"):  # lost with its worker: made again
                arrivals.add(arrived)
                continue
            # An error of the input is raised in its turn, as a local run raises the first.
            ready.add(arrived.key)
            while taken < len(order) and order[taken].key in ready:
                future = order[taken]
                if future.status not in ("finished", "error"):  # lost since: made again
                    ready.discard(future.key)
                    arrivals.add(future)
                    break
                yield self.result(future, what[future.key])
                future.release()
                taken += 1

    def collect(
        self,
        outputs: Sequence[tuple[Any, str]],
        batch: BatchResult[Any],
        watch: Sequence[tuple[Any, str]] = (),
    ) -> None:
        """Fold per-partition outputs (futures of one or of a list of outputs) in order,
        the first failure of any of them (or of ``watch``) ending the run."""
        for found in self.in_order(outputs, watch):
            for result, problems, duplicates, *last in (
                found if isinstance(found, list) else [found]
            ):
                batch.lines = max([batch.lines, *last])
                batch.problems.extend(problems)
                batch.duplicates += duplicates
                self.fold(result)
                batch.partitions += 1

    def finish(self, batch: BatchResult[R]) -> BatchResult[R]:
        """Problems in line order, as a local run gives them."""
        batch.problems.sort(key=lambda p: (p.line, p.code))
        return batch

    # -- JSON Lines ------------------------------------------------------------------------

    def counted(self, path: str, cuts: list[int]) -> tuple[list[int], int]:
        """The first line number of each range between ``cuts``, and the last non-blank line."""
        counts = [
            self.submit(tasks.count_range, path, a, b, key="slaengine-count")
            for a, b in itertools.pairwise(cuts)
        ]
        firsts, number, last = [], 1, 0
        for breaks, last_line in self.in_order([(c, "counting lines") for c in counts]):
            if last_line:
                last = number + last_line - 1
            firsts.append(number)
            number += breaks
        return firsts, last

    def chunks(self, path: str | os.PathLike[str]) -> BatchResult[Any]:
        """A grouped JSON Lines file in chunks of whole tickets (raises NotGrouped)."""
        size = chunk_bytes(path, self.count)
        if not readable_in_ranges(path):
            return self.client_chunks(path, size)
        name = os.path.abspath(path)
        cuts = plan.chunk_cuts(name, size)
        try:
            firsts, _ = self.counted(name, cuts)
        except tasks.CarriageReturn:
            return self.client_chunks(path, size)
        pieces = [(name, a, b) for a, b in itertools.pairwise(cuts)]
        return self.run_chunks(pieces, firsts)

    def client_chunks(self, path: str | os.PathLike[str], size: int) -> BatchResult[Any]:
        """Chunks of ``size`` bytes cut on the client (gzip, carriage returns), sent to the
        workers."""
        with tempfile.TemporaryDirectory(prefix="slaengine-chunks-") as tmp:
            sent, firsts = [], []
            for chunk in write_chunks(path, Path(tmp), size):
                sent.append(self.client.scatter(chunk.path.read_bytes(), hash=False))
                firsts.append(chunk.first)
                chunk.path.unlink()
        return self.run_chunks(sent, firsts)

    def run_chunks(self, pieces: Sequence[Any], firsts: Sequence[int]) -> BatchResult[Any]:
        """Evaluate chunks, checking on the side that no ticket is in two of them."""
        checks = max(1, min(CHECK_TASKS, len(pieces) // 4))
        runs = [
            self.submit(
                tasks.run_chunk, self.work, piece, first, self.source, self.status_map, checks,
                key="slaengine-chunk",
            )
            for piece, first in zip(pieces, firsts, strict=True)
        ]  # fmt: skip
        verdicts = []
        if len(runs) > 1:
            for c in range(checks):
                hashes = [self.submit(_hashes, run, c, key="slaengine-hashes") for run in runs]
                verdicts.append(self.submit(tasks.distinct, *hashes, key="slaengine-check"))
        outputs = [self.submit(_output, run, key="slaengine-output") for run in runs]
        del runs  # each chunk's result goes once its output and hashes are taken
        batch: BatchResult[Any] = BatchResult(results=[])
        # Folded as they come, as locally: the caller starts again when the check fails.
        checked = [(v, "the check that tickets are grouped") for v in verdicts]
        self.collect([(o, f"chunk {k + 1}") for k, o in enumerate(outputs)], batch, checked)
        for verdict, what in checked:
            if not self.result(verdict, what):
                raise NotGrouped("a ticket appears in two chunks")
        return self.finish(batch)

    def shuffle_lines(self, path: str | os.PathLike[str]) -> BatchResult[Any]:
        """Any JSON Lines file: split by ticket on the workers, one shuffle."""
        if not readable_in_ranges(path):
            return self.spilled(path)
        name = os.path.abspath(path)
        size = os.path.getsize(name)
        cuts = plan.line_blocks(name, max(1 << 20, min(READ_BLOCK, size // self.count + 1)))
        try:
            firsts, last = self.counted(name, cuts)
        except tasks.CarriageReturn:
            return self.spilled(path)
        groups = -(-self.count // PARTITIONS_PER_TASK)
        routes = ticket_routes(name, self.count)  # the local spill's
        splits = [
            self.submit(
                tasks.split_lines, name, a, b, first, routes, groups, key="slaengine-split"
            )
            for (a, b), first in zip(itertools.pairwise(cuts), firsts, strict=True)
        ]  # fmt: skip
        batch = self.shuffled(splits, groups, ".tsv")
        batch.lines = last
        return batch

    def shuffle_parquet(self, path: str) -> BatchResult[Any]:
        """A Parquet file not grouped by ticket: row groups split by ticket, one shuffle."""
        groups = -(-self.count // PARTITIONS_PER_TASK)
        routes = ticket_routes(path, self.count)  # the local spill's
        splits = [
            self.submit(tasks.split_rows, path, row_groups, first, routes, groups,
                        key="slaengine-split")
            for row_groups, first in plan.row_group_runs(path, self.count)
        ]  # fmt: skip
        batch = self.shuffled(splits, groups, ".arrow")
        batch.lines = open_parquet(path).metadata.num_rows
        return batch

    def shuffled(self, splits: list[Any], groups: int, suffix: str) -> BatchResult[Any]:
        """Evaluate the partitions of split readers, a group of consecutive partitions per task."""
        outputs = []
        for g in range(groups):
            pieces = [self.submit(tasks.pick, split, g, key="slaengine-pick") for split in splits]
            run = self.submit(
                tasks.run_partitions, self.work, suffix, self.source, self.status_map, *pieces,
                key="slaengine-partitions",
            )  # fmt: skip
            outputs.append((run, f"partitions group {g + 1} of {groups}"))
        splits.clear()  # a reader's pieces are released once every group has taken its own
        batch: BatchResult[Any] = BatchResult(results=[])
        self.collect(outputs, batch)
        return self.finish(batch)

    # -- Parquet grouped, and input only the client reads -----------------------------------

    def ranges(self, ranges: Sequence[Any]) -> BatchResult[Any]:
        """A grouped Parquet file in the row ranges of a local run."""
        outputs = [
            (self.submit(tasks.run_rows, self.work, rows, self.source, self.status_map,
                         key="slaengine-rows"), f"rows {rows.start + 1}-{rows.end}")
            for rows in ranges
        ]  # fmt: skip
        batch: BatchResult[Any] = BatchResult(results=[])
        self.collect(outputs, batch)
        batch.lines = ranges[-1].end
        return self.finish(batch)

    def spilled(self, path: str | os.PathLike[str]) -> BatchResult[Any]:
        """Spilled by ticket on the client as a local run spills; each partition to a worker."""
        with tempfile.TemporaryDirectory(prefix="slaengine-spill-") as tmp:
            result = spill_input(path, Path(tmp), self.count, self.source)
            outputs = []
            for k, (file,) in enumerate(result.partition_files()):
                data = self.client.scatter(file.read_bytes(), hash=False)
                task = self.submit(
                    tasks.run_spilled, self.work, data, file.suffix, self.source, self.status_map,
                    key="slaengine-partition",
                )  # fmt: skip
                outputs.append((task, f"partition {k + 1}"))
                file.unlink()
        batch: BatchResult[Any] = BatchResult(results=[], lines=result.lines)
        batch.problems.extend(result.problems)
        self.collect(outputs, batch)
        return self.finish(batch)


def _value(value: Any) -> Any:
    return value


def _hashes(run: tuple[Any, list[Any], int], check: int) -> Any:
    return run[1][check]


def _output(run: tuple[tasks.PartOutput, Any, int]) -> tuple[Any, ...]:
    # The chunk's output and its last line, without its hashes.
    return (*run[0], run[2])


@contextlib.contextmanager
def connected(address: str, timeout: float = 10.0) -> Iterator[Client]:
    """A client of the Dask scheduler at ``address``; a :class:`UserError` when there is none."""
    try:
        from distributed import Client as DaskClient
    except ImportError:
        raise UserError(
            "--scheduler needs Dask: python3 -m pip install 'slaengine[dask]'"
        ) from None
    try:
        client = DaskClient(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise UserError(
            f"--scheduler: cannot reach a Dask scheduler at {address!r} "
            f"({type(exc).__name__}: {exc}); give its address, e.g. tcp://10.0.0.5:8786"
        ) from None
    try:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=timeout)
        yield client
    except TimeoutError:
        raise UserError(f"--scheduler: the Dask scheduler at {address!r} has no workers") from None
    finally:
        client.close()  # type: ignore[no-untyped-call]


__all__ = ["ClusterError", "connected", "map_tickets_dask"]
