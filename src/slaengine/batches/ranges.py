"""Ticket-grouped JSON Lines read in place: byte ranges of whole tickets, no chunk files.

A plain (uncompressed) file grouped by ticket needs neither a spill nor chunk
copies: the cuts between chunks are found by seeking (a read of a few kilobytes
at each, :func:`chunk_cuts`), and each worker reads and parses its own byte
range (:func:`range_lines`). With workers, the parent only counts line breaks,
range by range, to give each range its first line number (:func:`scan_range`),
which costs a tenth of copying the file into chunks; in one process, a range
is read once the one before it is, numbered from the line after it, and not
counted first. The cuts are the ones
:func:`~slaengine.batches.chunks.write_chunks` makes, so the partitions, and
every result, are the same. A Dask run cuts a file the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO, Final

from slaengine.inputs.files import TEXT_ERRORS, is_gzip, open_binary
from slaengine.inputs.tickets import ticket_of

# Bytes read at a time while looking for a cut.
_WINDOW: Final = 1 << 16
# Bytes of a file's start checked for carriage returns.
_BLOCK: Final = 1 << 22
# Bytes read at a time while counting or parsing a range: small enough that a block's lines
# are still in the processor's cache when parsed (read and parse 10% cheaper than 4 MiB).
_READ: Final = 1 << 16


class CarriageReturns(Exception):
    """A range holds carriage returns. ``\\r\\n`` line ends (``lone`` false): such a file is
    cut into chunk files instead, which make them ``\\n``; a lone ``\\r``, which text
    reading takes as a line break of its own: the file is spilled, read as text."""

    def __init__(self, lone: bool) -> None:
        super().__init__(lone)  # its arguments rebuild it (a pool sends it between processes)
        self.lone = lone

    def __str__(self) -> str:
        return "a lone carriage return" if self.lone else "carriage returns"


def _ticket(raw: bytes) -> str | None:
    return ticket_of(raw.decode("utf-8", errors=TEXT_ERRORS)) if raw.strip() else None


class LineWindows:
    """Complete lines of a file around an offset, read in small windows."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream = stream
        self.size = size

    def line_end(self, at: int) -> int | None:
        """Offset of the first ``\\n`` at or after ``at``; ``None`` if there is none."""
        while at < self.size:
            self.stream.seek(at)
            window = self.stream.read(_WINDOW)
            found = window.find(b"\n")
            if found != -1:
                return at + found
            at += len(window)
        return None

    def line_start(self, end: int, floor: int) -> int:
        """Where the line ending at ``end`` starts (not before ``floor``)."""
        at = end
        while at > floor:
            low = max(floor, at - _WINDOW)
            self.stream.seek(low)
            window = self.stream.read(at - low)
            found = window.rfind(b"\n")
            if found != -1:
                return low + found + 1
            at = low
        return floor

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end``."""
        self.stream.seek(start)
        return self.stream.read(end - start)


def readable_in_ranges(path: str | os.PathLike[str]) -> bool:
    """True for a plain file without carriage returns at its start (ranges check the rest)."""
    if is_gzip(path):
        return False
    with open_binary(path) as stream:
        return b"\r" not in stream.read(_BLOCK)


def chunk_cuts(path: str | os.PathLike[str], chunk_bytes: int) -> list[int]:
    """The offsets at which a grouped JSON Lines file is cut into chunks of whole tickets.

    The first is 0, the last the file's size; chunk ``k`` is the bytes between
    cut ``k`` and cut ``k + 1``. The same cuts as
    :func:`slaengine.batches.chunks.write_chunks` makes for a file without carriage
    returns: each chunk ends at the first ticket boundary at or after its start
    plus ``chunk_bytes``.
    """
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as stream:
        lines = LineWindows(stream, size)
        start = 0
        while size - start > chunk_bytes:
            cut = _boundary(lines, start, start + chunk_bytes)
            if cut is None:
                break  # one ticket fills the rest of the file
            cuts.append(cut)
            start = cut
    if cuts[-1] < size:
        cuts.append(size)
    return cuts


def _boundary(lines: LineWindows, start: int, target: int) -> int | None:
    # After the line holding byte target - 1, the start of the first complete line
    # naming another ticket than the last line that named one.
    end = lines.line_end(target - 1)
    if end is None:
        return None
    last = _ticket(lines.read(lines.line_start(end, start), end))
    while True:
        following = lines.line_end(end + 1)
        if following is None:
            return None  # no complete line follows
        ticket = _ticket(lines.read(end + 1, following))
        if ticket is not None and last is not None and ticket != last:
            return end + 1
        if ticket is not None:
            last = ticket
        end = following


def scan_range(path: str | os.PathLike[str], start: int, end: int) -> int:
    """The line breaks in bytes ``start`` up to ``end`` of a plain file.

    Raises :class:`CarriageReturns` when they hold a ``\\r``.
    """
    buffer = bytearray(min(_READ, max(1, end - start)))
    view = memoryview(buffer)
    breaks = 0
    with open(path, "rb", buffering=0) as stream:
        stream.seek(start)
        left = end - start
        while left > 0:
            got = stream.readinto(view[: min(len(buffer), left)])
            if not got:
                break
            left -= got
            breaks += buffer.count(b"\n", 0, got)
            if buffer.find(b"\r", 0, got) != -1:
                _carriage_returns(bytes(view[:got]), stream)
    return breaks


def _carriage_returns(data: bytes, stream: IO[bytes]) -> None:
    # "\r\n" only: chunk files take it; a lone "\r" makes the file one the spill reads
    # as text. A "\r" ending the block may be half of a "\r\n": its next byte settles it.
    if data.endswith(b"\r"):
        data += stream.read(1)
    raise CarriageReturns(lone=b"\r" in data.replace(b"\r\n", b""))


def range_lines(path: str | os.PathLike[str], start: int, end: int) -> Iterator[list[str]]:
    """The lines of bytes ``start`` up to ``end`` of a file (whole lines, ``\\n`` ends),
    without their ``\\n``, a block at a time; raises :class:`CarriageReturns` when they
    hold a ``\\r`` (as :func:`scan_range` does, for a range no one counted first).

    The same lines as reading a file of those bytes as text would give, bad
    bytes kept as :data:`~slaengine.inputs.files.TEXT_ERRORS` makes them.
    """
    for text in range_texts(path, start, end):
        yield text.split("\n")


def range_texts(path: str | os.PathLike[str], start: int, end: int) -> Iterator[str]:
    """:func:`range_lines` as blocks of text: each block's lines are ``block.split("\\n")``."""
    with open(path, "rb") as stream:
        stream.seek(start)
        left = end - start
        carry: list[bytes] = []  # a line begun in earlier blocks (joined once: a long line)
        while left > 0:
            block = stream.read(min(_READ, left))
            if not block:
                break
            left -= len(block)
            if b"\r" in block:
                _carriage_returns(block, stream)
            cut = block.rfind(b"\n")
            if cut == -1:
                carry.append(block)
                continue
            if carry:
                carry.append(block[:cut])
                whole = b"".join(carry)
            else:
                whole = block[:cut]
            # Cut on "\n", which no UTF-8 sequence holds: decoding whole lines is decoding it all.
            text = whole.decode("utf-8", TEXT_ERRORS)
            carry = [block[cut + 1 :]] if cut + 1 < len(block) else []
            yield text
        if carry:
            yield b"".join(carry).decode("utf-8", TEXT_ERRORS)


__all__ = [
    "CarriageReturns",
    "LineWindows",
    "chunk_cuts",
    "range_lines",
    "range_texts",
    "readable_in_ranges",
    "scan_range",
]
