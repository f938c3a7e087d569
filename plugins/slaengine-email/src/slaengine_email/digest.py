"""Digests: notifications kept in a spool file, sent together once their period ends.

Exactly once, in two durable steps:

1. The outbox hands a notification over: :meth:`Spool.add` stores it under
   (target, key) and commits before the delivery returns, so the outbox marks
   its row delivered only once the spool holds it. A repeated hand-over (the
   worker died between the two) finds the key there and adds nothing.
2. :meth:`Spool.flush` seals each ended period into a digest (its members and
   its id fixed in one transaction), sends it, then records it sent. A crash in
   between sends the same digest again, with the same ``Message-ID``.

A digest the server does not accept stays in the spool and is retried with
backoff (10 s doubling to 1 h), without end: its notifications are already
delivered as far as the outbox is concerned.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from slaengine.logs import get_logger
from slaengine.notifications import Notification
from slaengine_email.client import SmtpClient
from slaengine_email.config import Target
from slaengine_email.message import build_digest

_log = get_logger("slaengine_email")

RETRY_FIRST = 10
RETRY_CAP = 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    target TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
    period_start INTEGER NOT NULL, added INTEGER NOT NULL, digest TEXT,
    PRIMARY KEY (target, key));
CREATE TABLE IF NOT EXISTS digests (
    id TEXT PRIMARY KEY, target TEXT NOT NULL, period_start INTEGER NOT NULL,
    sent_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL,
    claimed_until INTEGER NOT NULL DEFAULT 0, last_error TEXT);
"""


class Spool:
    """The digest spool: a SQLite file shared by every process of one host."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        # Created private before SQLite opens it (its journal files take the same
        # mode): it holds ticket ids and policy names.
        Path(self.path).touch(mode=0o600, exist_ok=True)
        Path(self.path).chmod(0o600)
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def add(self, target: Target, notification: Notification, now: int) -> bool:
        """Keep ``notification`` for ``target``'s digest; ``False`` when it was already there."""
        assert target.digest is not None
        start = now - now % target.digest
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO items (target, key, payload, period_start, added)"
                " VALUES (?, ?, ?, ?, ?)",
                (target.name, notification.key, json.dumps(notification.to_dict()), start, now),
            )
            return cursor.rowcount == 1

    def seal(self, targets: dict[str, Target], now: int) -> int:
        """Turn every ended period's loose items into a digest; the number of digests made."""
        made = 0
        with self._lock, self._db:
            rows = self._db.execute(
                "SELECT DISTINCT target, period_start FROM items WHERE digest IS NULL"
            ).fetchall()
            for name, start in rows:
                target = targets.get(name)
                if target is None or target.digest is None or start + target.digest > now:
                    continue
                (count,) = self._db.execute(
                    "SELECT COUNT(*) FROM digests WHERE target = ? AND period_start = ?",
                    (name, start),
                ).fetchone()
                digest = f"{name}/{start}/{count + 1}"
                self._db.execute(
                    "INSERT INTO digests (id, target, period_start, next_attempt)"
                    " VALUES (?, ?, ?, ?)",
                    (digest, name, start, now),
                )
                self._db.execute(
                    "UPDATE items SET digest = ? WHERE target = ? AND period_start = ?"
                    " AND digest IS NULL",
                    (digest, name, start),
                )
                made += 1
        return made

    def _claim(self, now: int, lease: int) -> list[tuple[str, str, int]]:
        with self._lock, self._db:
            ready = self._db.execute(
                "SELECT id, target, attempts FROM digests WHERE sent_at IS NULL"
                " AND next_attempt <= ? AND claimed_until <= ? ORDER BY period_start, id",
                (now, now),
            ).fetchall()
            for digest, _, _ in ready:
                self._db.execute(
                    "UPDATE digests SET claimed_until = ? WHERE id = ?", (now + lease, digest)
                )
        return [(str(d), str(t), int(a)) for d, t, a in ready]

    def members(self, digest: str) -> list[Notification]:
        """The notifications of ``digest``, in the order they were handed over."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM items WHERE digest = ? ORDER BY added, key", (digest,)
            ).fetchall()
        return [Notification.from_dict(json.loads(payload)) for (payload,) in rows]

    def pending(self) -> list[tuple[str, int, str | None]]:
        """Digests not sent yet: (id, attempts, last error)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, attempts, last_error FROM digests WHERE sent_at IS NULL ORDER BY id"
            ).fetchall()
        return [(str(d), int(a), e) for d, a, e in rows]

    def _record(self, digest: str, now: int, error: str | None, attempts: int) -> None:
        with self._lock, self._db:
            if error is None:
                self._db.execute(
                    "UPDATE digests SET sent_at = ?, claimed_until = 0 WHERE id = ?", (now, digest)
                )
            else:
                wait = min(RETRY_CAP, RETRY_FIRST * 2 ** (attempts - 1))
                self._db.execute(
                    "UPDATE digests SET attempts = ?, next_attempt = ?, last_error = ?,"
                    " claimed_until = 0 WHERE id = ?",
                    (attempts, now + wait, error, digest),
                )

    def flush(self, targets: dict[str, Target], client: SmtpClient, now: int) -> int:
        """Seal ended periods and send every digest that is due; the number sent."""
        self.seal(targets, now)
        sent = 0
        lease = int(client.server.timeout * 3) + 1
        for digest, name, attempts in self._claim(now, lease):
            target = targets.get(name)
            if target is None:  # the target was removed from the settings: keep it for later
                continue
            log = _log.bind(target=name, digest=digest)
            members = self.members(digest)
            try:
                client.send(
                    build_digest(members, target, client.server, digest, now), target.recipients
                )
            except Exception as exc:  # the spool keeps it; retried later
                error = f"{type(exc).__name__}: {exc}"
                self._record(digest, now, error, attempts + 1)
                log.warning("e-mail digest not sent", error=error, attempt=attempts + 1)
                continue
            self._record(digest, now, None, attempts)
            log.info("e-mail digest sent", notifications=len(members))
            sent += 1
        return sent


class Flusher:
    """A daemon thread that flushes the spool every ``interval`` seconds."""

    def __init__(
        self,
        spool: Spool,
        targets: dict[str, Target],
        client: SmtpClient,
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        self.spool, self.targets, self.client = spool, targets, client
        self.interval, self.clock = interval, clock
        self.stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the thread unless it runs already."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="slaengine-email-digest", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.spool.flush(self.targets, self.client, int(self.clock()))
            except Exception as exc:  # never let the thread die: the next round retries
                _log.error("e-mail digest flush failed", error=repr(exc))
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to stop and wait for it; :meth:`start` starts a new one."""
        with self._start_lock:
            self.stopped.set()
            if self._thread is not None:
                self._thread.join()
            self._thread = None
            self.stopped = threading.Event()  # for the next start


def interval_for(targets: dict[str, Target]) -> float:
    """How often to look for ended periods: a quarter of the shortest, 0.5 s to 30 s."""
    periods = [t.digest for t in targets.values() if t.digest is not None]
    shortest = min(periods) if periods else 60
    return max(0.5, min(30.0, shortest / 4))


__all__ = ["Flusher", "Spool", "interval_for"]
