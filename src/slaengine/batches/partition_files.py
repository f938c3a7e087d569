"""The files a spill writes its partitions into, within the process's limit of open files.

A spill writes to every partition at once, so it would hold a file open per
partition. A process may have only so many open (``ulimit -n``, often 1,024, less
than :data:`~slaengine.batches.sizing.MAX_PARTITIONS` and the process's other
files): the soft limit is first raised towards what the partitions need
(:func:`~slaengine.batches.sizing.open_files`). Should they still not fit, each
partition's rows are kept in memory and appended to its file, opened just for
that, whenever its buffer fills: the files hold the same bytes either way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from slaengine.batches.sizing import SPARE_FILES, open_files

#: Write buffers of all of a spill's partition files together, in bytes.
BUFFERS: Final = 1 << 26
#: One partition file's write buffer at most.
BUFFER: Final = 1 << 20


def buffer_bytes(partitions: int) -> int:
    """Each partition file's buffer, so that all of them take at most :data:`BUFFERS`."""
    return max(1 << 16, min(BUFFER, BUFFERS // max(1, partitions)))


class PartitionFiles:
    """Binary files of a spill's partitions, written through :attr:`writes` (one per
    partition, each taking ``bytes``); :meth:`close` (or leaving a ``with`` block)
    writes what is left. Call :meth:`block_done` after each block of rows."""

    def __init__(self, paths: list[Path], spare: int = SPARE_FILES) -> None:
        self.paths = paths
        self.size = buffer_bytes(len(paths))
        self._files: list[IO[bytes]] = []
        self._buffers: list[bytearray] = []
        self.writes: list[Callable[[bytes], object]]
        if len(paths) + spare <= open_files(len(paths) + spare):
            try:
                for path in paths:
                    self._files.append(path.open("wb", buffering=self.size))
            except BaseException:
                self.close()
                raise
            self.writes = [file.write for file in self._files]
        else:
            # Too many to hold open: buffered here, each file opened to append a full buffer.
            for path in paths:
                path.write_bytes(b"")
            self._buffers = [bytearray() for _ in paths]
            self.writes = [buffer.extend for buffer in self._buffers]

    @property
    def held_open(self) -> bool:
        """Whether every partition's file is open (else their rows wait in buffers)."""
        return bool(self._files) or not self.paths

    def block_done(self) -> None:
        """Append the buffered rows of each partition whose buffer is full to its file."""
        if not self._buffers:
            return  # the files are open: their own buffers do this
        size = self.size
        for path, buffer in zip(self.paths, self._buffers, strict=True):
            if len(buffer) >= size:
                _append(path, buffer)

    def close(self) -> None:
        """Write what is buffered and close every file."""
        files, self._files = self._files, []
        buffers, self._buffers = self._buffers, []
        try:
            for path, buffer in zip(self.paths[: len(buffers)], buffers, strict=True):
                if buffer:
                    _append(path, buffer)
        finally:
            for file in files:
                file.close()

    def __enter__(self) -> PartitionFiles:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _append(path: Path, buffer: bytearray) -> None:
    with path.open("ab") as file:
        file.write(buffer)
    del buffer[:]


__all__ = ["BUFFER", "BUFFERS", "PartitionFiles", "buffer_bytes"]
