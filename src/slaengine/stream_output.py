"""Where evaluate's rendered text goes: the output stream, straight or from spool files.

:class:`Output` writes UTF-8 bytes and whole spool files to a text stream: the
bytes to its binary buffer when the stream would write them unchanged, a spool
file from the kernel's page cache (``os.sendfile``) where the descriptor takes
it. :class:`DirectOutput` lets the parts of an input read in order write to the
output itself, no spool file between, when what was written can be taken back
should the input turn out not to be grouped after all: a regular file
(truncated) or the null device (which keeps nothing).
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from typing import BinaryIO, Final, TextIO

from slaengine.stream_part import SPOOL_ERRORS

try:
    import fcntl
except ImportError:  # not a Unix: no direct output
    fcntl = None  # type: ignore[assignment]

# Bytes copied at a time from a spool file to the output.
_BLOCK: Final = 1 << 20
# What sendfile fails with when the output does not take it (then the bytes are copied).
_NO_SENDFILE: Final = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE})


def binary_buffer(out: TextIO) -> BinaryIO | None:
    """The binary buffer under ``out`` when writing bytes to it is writing the same text to
    ``out`` (UTF-8, ``\\n`` line ends), else ``None``; ``out`` is flushed first."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None) or ""
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        utf8 = False
    if buffer is None or not utf8 or os.linesep != "\n":
        return None
    out.flush()
    return buffer  # type: ignore[no-any-return]


class Output:
    """Writes UTF-8 bytes, and whole spool files, to a text stream.

    The bytes go straight to the stream's binary buffer when the stream would
    write them unchanged (:func:`binary_buffer`), and a spool file from the
    kernel's page cache to the buffer's file descriptor (``os.sendfile``: no copy
    through this process) when the descriptor takes it. Otherwise they are
    decoded, in pieces that may split a character, and written as text.
    """

    def __init__(self, out: TextIO) -> None:
        self._text = out
        self._decoder = codecs.getincrementaldecoder("utf-8")(SPOOL_ERRORS)
        self._binary = binary_buffer(out)
        self._descriptor = None if self._binary is None else _descriptor(self._binary)

    def write(self, data: bytes) -> None:
        """Write ``data`` (which may end inside a character)."""
        if self._binary is not None:
            self._binary.write(data)
        else:
            self._text.write(self._decoder.decode(data))

    def copy(self, name: str, size: int) -> None:
        """Write the first ``size`` bytes of file ``name``."""
        with open(name, "rb") as data:
            sent = self._send(data.fileno(), size)
            data.seek(sent)
            size -= sent
            while size > 0:
                block = data.read(min(_BLOCK, size))
                if not block:
                    break
                self.write(block)
                size -= len(block)

    def _send(self, source: int, size: int) -> int:
        # Bytes of ``source`` the kernel copied to the output (0 when it cannot).
        if self._descriptor is None or self._binary is None:
            return 0
        self._binary.flush()
        sent = 0
        try:
            while sent < size:
                count = os.sendfile(self._descriptor, source, sent, size - sent)
                if count == 0:
                    break
                sent += count
        except OSError as exc:
            if exc.errno not in _NO_SENDFILE:
                raise
            self._descriptor = None  # an appending file, a terminal ...: copied instead
        return sent

    def finish(self) -> None:
        """Flush what was written; the text stream gets any character left incomplete."""
        if self._binary is not None:
            self._binary.flush()
        else:
            self._text.write(self._decoder.decode(b"", True))


class DirectOutput:
    """The output, written by the parts themselves while they come in input order.

    Only where what was written can be taken back (:meth:`rewind`): a regular file,
    truncated to where it was, or the null device. ``written`` counts the tickets
    written and ``last`` is the key of the last one.
    """

    def __init__(self, binary: BinaryIO, regular: bool, start: int = 0) -> None:
        self.binary = binary
        self.regular = regular
        self.start = start
        self.active = True
        self.written = 0
        self.last = 0

    @classmethod
    def of(cls, out: TextIO) -> DirectOutput | None:
        """A direct output for ``out``, or ``None`` when what is written to it could not be
        taken back (a pipe, a terminal) or its text would differ from the bytes."""
        binary = binary_buffer(out)
        descriptor = None if binary is None else _descriptor(binary, any_system=True)
        if binary is None or descriptor is None or fcntl is None:
            return None
        try:
            mode = os.fstat(descriptor)
            if stat.S_ISREG(mode.st_mode):
                # Where this run's text begins: the file's end when it is opened to append
                # (wherever its offset is), else its offset.
                appending = fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_APPEND
                start = mode.st_size if appending else binary.tell()
                return cls(binary, regular=True, start=start)
            null = os.stat(os.devnull)
        except (OSError, ValueError):
            return None
        if stat.S_ISCHR(mode.st_mode) and mode.st_rdev == null.st_rdev:
            return cls(binary, regular=False)
        return None

    def rewind(self) -> None:
        """Take back everything written; parts are spooled from now on."""
        self.binary.flush()
        if self.regular:
            self.binary.truncate(self.start)
            self.binary.seek(self.start)
        self.active = False
        self.written = 0
        self.last = 0


def _descriptor(buffer: BinaryIO, any_system: bool = False) -> int | None:
    # The file descriptor a binary stream writes to, if it has one (and sendfile exists,
    # unless ``any_system``).
    if not any_system and not hasattr(os, "sendfile"):
        return None
    try:
        return buffer.fileno()
    except (OSError, ValueError, AttributeError):  # a BytesIO, a closed stream ...
        return None


__all__ = ["DirectOutput", "Output", "binary_buffer"]
