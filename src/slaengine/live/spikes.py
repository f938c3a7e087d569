"""Watching volumes for spikes: counts from the stored events, one alert per spike.

The counts come from the events table itself (new tickets by their channel,
public customer messages by their ticket's channel), so a repeated event is
never counted twice and a late one counts in the window it belongs to. A spike
under way is remembered in the ``spikes`` table; its alert goes into the outbox
once, in the same transaction, when it starts, keyed by rule, channel and start.
It ends when the window falls below the rule's threshold, and a later surge is
a new spike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from slaengine.live.sql import StoreSql
from slaengine.notifications import SPIKE, Notification
from slaengine.spikes import CUSTOMER_MESSAGES, SpikeRule, Volume

if TYPE_CHECKING:
    from slaengine.live.store import Store

_log = structlog.get_logger("slaengine.live")


def _field(dialect: str, alias: str, name: str) -> str:
    """SQL for a text field of an event's JSON payload."""
    if dialect == "sqlite":
        return f"json_extract({alias}.payload, '$.{name}')"
    return f"(({alias}.payload)::jsonb ->> '{name}')"


def _volume_sql(dialect: str, measure: str) -> str:
    """Per channel: items after ``split``, and items in all (after ``since``, to ``until``)."""

    def field(alias: str, name: str) -> str:
        return _field(dialect, alias, name)

    if measure == CUSTOMER_MESSAGES:
        # A message carries no channel: its ticket's 'created' event does.
        public = (
            f"COALESCE({field('m', 'public')}, 1) NOT IN (0, 'false')"
            if dialect == "sqlite"
            else f"COALESCE({field('m', 'public')}, 'true') <> 'false'"
        )
        return (
            f"SELECT LOWER({field('c', 'channel')}), "
            "SUM(CASE WHEN m.at > ? THEN 1 ELSE 0 END), COUNT(*) "
            "FROM events m JOIN events c "
            f"ON c.ticket = m.ticket AND {field('c', 'type')} = 'created' "
            f"WHERE m.at > ? AND m.at <= ? AND {field('m', 'type')} = 'message' "
            f"AND {field('m', 'author')} = 'customer' AND {public} "
            "GROUP BY 1"
        )
    return (
        f"SELECT LOWER({field('e', 'channel')}), SUM(CASE WHEN e.at > ? THEN 1 ELSE 0 END), "
        f"COUNT(*) FROM events e WHERE e.at > ? AND e.at <= ? AND {field('e', 'type')} = 'created' "
        "GROUP BY 1"
    )


class SpikeQueries(StoreSql):
    """The store's part for spikes (mixed into :class:`~slaengine.live.store.Store`)."""

    def volumes(self, rule: SpikeRule, now: int) -> list[Volume]:
        """Per channel the rule watches: its count in the window and in the baseline before it."""
        split = now - rule.window
        rows = self._all(
            _volume_sql(self.dialect.name, rule.measure),
            (split, split - rule.baseline, now),
        )
        return [
            Volume(channel, int(recent or 0), int(total or 0) - int(recent or 0))
            for channel, recent, total in rows
            if channel is not None and rule.watches(channel)
        ]

    def spikes_under_way(self) -> dict[tuple[str, str], int]:
        """(rule, channel) -> when the spike started, for every spike not over yet."""
        return {
            (rule, channel): started
            for rule, channel, started in self._all("SELECT rule, channel, started FROM spikes")
        }

    def save_spikes(
        self,
        started: Sequence[tuple[Notification, Sequence[str]]],
        ended: Sequence[tuple[str, str]],
        now: int,
    ) -> list[Notification]:
        """Record spikes that started (their alerts into the outbox) and ones that ended.

        Returns the spikes this call recorded first: another worker on the same
        PostgreSQL state may have recorded the same one since it was read.
        """
        new: list[Notification] = []
        with self.transaction():
            for rule, channel in ended:
                self._execute("DELETE FROM spikes WHERE rule = ? AND channel = ?", (rule, channel))
            for notification, recipients in started:
                inserted = self._execute(
                    "INSERT INTO spikes (rule, channel, started) VALUES (?, ?, ?) "
                    "ON CONFLICT (rule, channel) DO NOTHING",
                    (notification.policy, notification.channel, notification.instance),
                )
                if inserted.rowcount != 1:
                    continue
                new.append(notification)
                payload = json.dumps(notification.to_dict(), sort_keys=True)
                for recipient in recipients:
                    self._execute(
                        "INSERT INTO outbox (key, recipient, ticket, kind, due_at, payload, "
                        "status, attempts, next_attempt, created) "
                        "VALUES (?, ?, '', ?, ?, ?, 'pending', 0, ?, ?) "
                        "ON CONFLICT (key, recipient) DO NOTHING",
                        (notification.key, recipient, SPIKE, notification.at, payload, now, now),
                    )
        return new


class SpikeWatch:
    """Checks every spike rule of the policies against the store's volumes."""

    def __init__(
        self,
        rules: Sequence[SpikeRule],
        store: Store,
        recipients: Callable[[Notification], Sequence[str]],
        every: int = 60,
    ) -> None:
        self.rules = tuple(rules)
        self.store = store
        self.recipients = recipients
        self.every = every  # seconds between checks: the counts span hours
        self._next = 0

    def check(self, now: int) -> tuple[list[Notification], list[str]]:
        """Spikes that started by ``now`` (queued), and problems (a rule's query failing)."""
        if not self.rules or now < self._next:
            return [], []
        self._next = now + self.every
        under_way = self.store.spikes_under_way()
        started: list[tuple[Notification, Sequence[str]]] = []
        ended: list[tuple[str, str]] = []
        problems: list[str] = []
        for rule in self.rules:
            try:
                volumes = {v.channel: v for v in self.store.volumes(rule, now)}
            except Exception as exc:  # one rule's query must not stop the others
                problems.append(f"spike rule {rule.name!r} could not count: {exc!r}")
                continue
            for channel, volume in sorted(volumes.items()):
                spiking = rule.is_spike(volume.count, volume.baseline_count)
                if spiking and (rule.name, channel) not in under_way:
                    spike = _notification(rule, volume, now)
                    started.append((spike, tuple(dict.fromkeys(self.recipients(spike)))))
                elif not spiking and (rule.name, channel) in under_way:
                    ended.append((rule.name, channel))
            for name, channel in under_way:
                if name == rule.name and channel not in volumes:
                    ended.append((name, channel))  # nothing at all in the window any more
        new = self.store.save_spikes(started, ended, now) if started or ended else []
        for spike in new:
            _log.warning(
                "volume spike",
                rule=spike.policy,
                channel=spike.channel,
                count=spike.count,
                expected=round(spike.expected, 1),
            )
        return new, problems


def _notification(rule: SpikeRule, volume: Volume, now: int) -> Notification:
    return Notification(
        kind=SPIKE,
        ticket="",
        policy=rule.name,
        metric=rule.measure,
        instance=now,  # when it started: a later surge is another spike
        level=0,
        at=now,
        due=None,
        priority="",
        notify=rule.notify,
        channel=volume.channel,
        count=volume.count,
        expected=rule.expected(volume.baseline_count),
    )


__all__ = ["SpikeQueries", "SpikeWatch"]
