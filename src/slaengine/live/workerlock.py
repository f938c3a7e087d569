"""One worker per SQLite state file: an exclusive lock on a file beside it, held while it runs.

A SQLite worker frees every claimed outbox row when it starts, as the only
worker; a second one on the same file would take rows the first is still
delivering and send them twice. ``slaengine run`` and ``slaengine serve``
(with its in-process worker) therefore hold a lock file with ``flock`` for as
long as they run. The lock file is named after the database file itself, not
the path as written: it lies in the directory of the resolved path (symlinks
followed) and is named from the file's device and inode, so a symlink or a hard
link in the same directory finds the same lock. The database file itself is
never locked: SQLite takes POSIX locks on it, and closing any other descriptor
of that file would drop them. The operating system releases it when the
process ends however it ends (a SIGKILL too), so no stale lock is left to
clear by hand. PostgreSQL states need no such lock: workers share them
through row locks and leases.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Final

import structlog

from slaengine.errors import UserError
from slaengine.live.store import SQLITE, Store

PREFIX: Final = "slaengine-worker-"
SUFFIX: Final = ".lock"
_log = structlog.get_logger("slaengine.live")


def lock_path(store: Store) -> str | None:
    """The lock file of ``store``'s worker, or ``None`` when it needs none."""
    if store.dialect is not SQLITE or store.location in ("", ":memory:"):
        return None
    real = os.path.realpath(store.location)
    try:
        facts = os.stat(real)
    except OSError:
        # Not created yet (the store creates it on open, so hardly ever): the resolved path.
        return f"{real}-worker{SUFFIX}"
    return os.path.join(os.path.dirname(real), f"{PREFIX}{facts.st_dev}-{facts.st_ino}{SUFFIX}")


@contextlib.contextmanager
def worker_lock(store: Store) -> Iterator[None]:
    """Hold the worker lock of ``store`` (SQLite) while the block runs.

    :raises UserError: another process holds it, naming that process's id.
    """
    path = lock_path(store)
    try:
        import fcntl  # POSIX; imported here so the commands still load without it
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    if path is not None and fcntl is None:
        _log.warning("no worker lock on this platform; run one worker per SQLite file", path=path)
    if path is None or fcntl is None:
        yield
        return
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UserError(f"state: cannot create the worker lock {path!r}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
            raise UserError(
                f"state {store.location!r} already has a worker"
                + (f" (process {holder})" if holder.isdigit() else "")
                + f" holding {path!r}: one worker per SQLite state file. Stop it first; "
                "'slaengine serve --no-worker' serves beside it, and several workers need "
                "a PostgreSQL state"
            ) from None
        # Who holds it, for the message above (the lock itself is what counts).
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


__all__ = ["PREFIX", "SUFFIX", "lock_path", "worker_lock"]
