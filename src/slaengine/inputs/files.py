"""Open events input: plain or gzip files, standard input, and what kind of file it is.

Gzip is decompressed with ISA-L (the ``isal`` package): about four times as fast
as :mod:`zlib`, which matters when an audit reads a gigabyte of events (the
parallel spill decompresses the input once in each process). A truncated or
corrupt ``.gz`` file stops the read with a :class:`~slaengine.errors.UserError`
naming the file, instead of a traceback from deep inside the decompressor.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import zlib
from pathlib import Path
from typing import IO, Final

from isal import igzip, isal_zlib

from slaengine.errors import UserError

# What a damaged gzip stream raises, from either decompressor.
_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment] # stubs call it an instance
_DAMAGED: tuple[type[Exception], ...] = (EOFError, gzip.BadGzipFile, zlib.error, _ISAL_ERROR)
_BUFFER = 1 << 20


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """True for a ``.gz`` file name (any case)."""
    return str(path).lower().endswith(".gz")


class _CheckedInput(io.RawIOBase):
    """A decompressing stream whose damage surfaces as a ``UserError``."""

    def __init__(self, inner: IO[bytes], name: str) -> None:
        super().__init__()
        self._inner = inner
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        try:
            return self._inner.readinto(buffer)  # type: ignore[attr-defined,no-any-return]
        except _DAMAGED as exc:
            raise UserError(
                f"{self._name}: the gzip data is damaged or cut short ({exc}); "
                "its events cannot all be read"
            ) from None

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_binary(path: str | os.PathLike[str]) -> IO[bytes]:
    """The bytes of ``path``, decompressed when it is a ``.gz`` file."""
    if not is_gzip(path):
        return open(path, "rb")
    decompressed: IO[bytes] = igzip.open(path, "rb")  # type: ignore[no-untyped-call]
    raw = _CheckedInput(decompressed, os.fspath(path))
    return io.BufferedReader(raw, buffer_size=_BUFFER)


#: How input text is decoded: a byte that is not UTF-8 becomes a lone surrogate
#: (U+DC80 to U+DCFF) that readers report with its line, instead of a silent U+FFFD.
TEXT_ERRORS: Final = "surrogateescape"


def open_text(path: str | os.PathLike[str], newline: str | None = None) -> IO[str]:
    """The text of ``path`` as UTF-8, decompressed when ``.gz``.

    Bytes that are not UTF-8 are kept as :data:`TEXT_ERRORS` makes them, for
    the reader to report.
    """
    if not is_gzip(path):
        return open(path, encoding="utf-8", errors=TEXT_ERRORS, newline=newline)
    return io.TextIOWrapper(
        open_binary(path), encoding="utf-8", errors=TEXT_ERRORS, newline=newline
    )


def estimated_size(path: str | os.PathLike[str], sample: int = 1 << 20) -> int:
    """The bytes ``path`` holds once decompressed: its size, or for gzip an estimate from
    the compression ratio of its first ``sample`` compressed bytes."""
    size = os.path.getsize(path)
    if not is_gzip(path):
        return size
    with open(path, "rb") as raw:
        head = raw.read(sample)
    inflate = isal_zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer
    try:
        out = len(inflate.decompress(head))
    except _DAMAGED:
        return size  # reading it will say what is wrong
    used = len(head) - len(inflate.unused_data)
    return size * out // max(1, used)


#: File names read as tables (one event per row) rather than JSON Lines.
TABLE_SUFFIXES: Final = (".csv", ".csv.gz", ".parquet", ".pq")


def is_table(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a CSV or Parquet events file."""
    return str(path).lower().endswith(TABLE_SUFFIXES)


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a Parquet events file."""
    return str(path).lower().endswith((".parquet", ".pq"))


def is_stdin(path: str | os.PathLike[str]) -> bool:
    """True for ``-``, which names standard input."""
    return str(path) == "-"


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True for ``-`` and for a file that can be read only once: a pipe or FIFO named by its
    path (``/dev/stdin``, a shell's ``<(zcat events.jsonl.gz)``). Such input is read line by
    line like standard input, never sampled or cut by offsets first."""
    if is_stdin(path):
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False  # opening it will say what is wrong


def open_events(path: str | os.PathLike[str]) -> IO[str]:
    """Open a JSON Lines events file as text; ``.gz`` files are decompressed; ``-`` is stdin."""
    if is_stdin(path):
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors=TEXT_ERRORS)
    return open_text(path)


def source_name(path: str | os.PathLike[str]) -> str:
    """How problems name an events file (``<stdin>`` for ``-``)."""
    return "<stdin>" if is_stdin(path) else str(Path(path))


__all__ = [
    "TABLE_SUFFIXES",
    "TEXT_ERRORS",
    "estimated_size",
    "is_gzip",
    "is_parquet",
    "is_stdin",
    "is_stream",
    "is_table",
    "open_binary",
    "open_events",
    "open_text",
    "source_name",
]
