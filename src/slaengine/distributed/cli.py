"""``--scheduler ADDRESS`` of ``slaengine audit`` and ``slaengine whatif``: connect, run, close."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from slaengine.audit.accumulator import AuditAccumulator
from slaengine.audit.run import AuditOptions
from slaengine.batches import BatchResult
from slaengine.distributed.commands import audit_on_dask, backtest_on_dask
from slaengine.distributed.runner import connected
from slaengine.policy.model import PolicySet
from slaengine.whatif import Backtest


def audit_on_scheduler(
    address: str,
    policies: PolicySet,
    events: str | os.PathLike[str],
    options: AuditOptions,
    *,
    breaches: str | os.PathLike[str] | None = None,
    on_partition: Callable[[], None] | None = None,
) -> tuple[AuditAccumulator, BatchResult[Any]]:
    """:func:`~slaengine.distributed.commands.audit_on_dask` on the scheduler at ``address``."""
    with connected(address) as client:
        return audit_on_dask(
            client, policies, events, options, breaches=breaches, on_partition=on_partition
        )


def backtest_on_scheduler(
    address: str,
    old: PolicySet,
    new: PolicySet,
    events: str | os.PathLike[str],
    now: int,
    zone: str = "UTC",
) -> tuple[Backtest, BatchResult[Any]]:
    """:func:`~slaengine.distributed.commands.backtest_on_dask` on the scheduler at ``address``."""
    with connected(address) as client:
        return backtest_on_dask(client, old, new, events, now, zone)


__all__ = ["audit_on_scheduler", "backtest_on_scheduler"]
