"""What the parts of the state database share: the SQL dialects and the statement methods.

:class:`~slaengine.live.store.Store` opens the connection and provides the
methods; each part of its SQL (events, outbox, clocks, spikes) is a mixin on
:class:`StoreSql`, so it is written and type-checked against one interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the SQL databases the store runs on."""

    name: str
    serial: str  # an auto-numbered primary key column type
    skip_locked: str  # appended to a SELECT that claims rows

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this database's parameter style."""
        return text if self.name == "sqlite" else text.replace("?", "%s")


SQLITE: Final = Dialect("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT", "")
POSTGRES: Final = Dialect("postgresql", "BIGSERIAL PRIMARY KEY", " FOR UPDATE SKIP LOCKED")


class StoreSql:
    """The connection and statement methods every part of the store's SQL uses (from Store)."""

    _db: Any
    dialect: Dialect

    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all."""
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError


__all__ = ["POSTGRES", "SQLITE", "Dialect", "StoreSql"]
