"""The audit and the what-if backtest on a Dask cluster: per partition, merged on the client."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from slaengine.audit.accumulator import AuditAccumulator
from slaengine.audit.kpis import prepare_kpis
from slaengine.audit.run import (
    AuditOptions,
    audit_timelines,
    empty_audit,
    for_policies,
    write_breaches,
)
from slaengine.batches import BatchResult
from slaengine.distributed.runner import Client, map_tickets_dask
from slaengine.policy.model import PolicySet
from slaengine.timeline import TimelineSet
from slaengine.whatif import Backtest, backtest_part

# One partition's audit and, when asked for, its breached clocks' part file (its bytes).
AuditShare = tuple[AuditAccumulator, bytes]


def audit_share(
    policies: PolicySet, options: AuditOptions, breaches: bool, timelines: TimelineSet
) -> AuditShare:
    """Audit one partition on a worker (:func:`~slaengine.audit.run.audit_timelines`)."""
    if not breaches:
        return audit_timelines(policies, options, timelines).audit, b""
    with tempfile.TemporaryDirectory(prefix="slaengine-breaches-") as tmp:
        part = audit_timelines(policies, options, timelines, breaches_dir=tmp)
        assert part.breaches is not None
        return part.audit, Path(part.breaches).read_bytes()


def audit_on_dask(
    client: Client,
    policies: PolicySet,
    events: str | os.PathLike[str],
    options: AuditOptions,
    *,
    breaches: str | os.PathLike[str] | None = None,
    on_partition: Callable[[], None] | None = None,
) -> tuple[AuditAccumulator, BatchResult[Any]]:
    """:func:`slaengine.audit.audit_file` on the Dask cluster of ``client``: the same result.

    The events file must be readable by the workers at the same path (and by
    this process). ``breaches`` is written here, in the local run's order: each
    partition's sorted part is kept in a temporary file, merged at the end.
    """
    options = for_policies(options, policies)
    merged = empty_audit(options)
    parts: list[Path] = []

    with tempfile.TemporaryDirectory(prefix="slaengine-breaches-") as tmp:

        def fold(share: AuditShare) -> None:
            merged.merge(share[0])
            if breaches is not None:
                part = Path(tmp) / f"part-{len(parts)}"
                part.write_bytes(share[1])
                parts.append(part)
            if on_partition is not None:
                on_partition()

        def restart() -> None:
            nonlocal merged
            merged = empty_audit(options)
            parts.clear()

        batch = map_tickets_dask(
            client,
            events,
            partial(audit_share, policies, options, breaches is not None),
            status_map=policies.status_map,
            fold=fold,
            restart=restart,
        )
        if breaches is not None:
            write_breaches(parts, breaches)
    prepare_kpis([group for view in merged.views for group in merged.view(view).values()], 1)
    return merged, batch


def backtest_on_dask(
    client: Client,
    old: PolicySet,
    new: PolicySet,
    events: str | os.PathLike[str],
    now: int,
    zone: str = "UTC",
) -> tuple[Backtest, BatchResult[Any]]:
    """The what-if backtest of an events file on the Dask cluster of ``client``."""
    merged = Backtest()

    def restart() -> None:
        nonlocal merged
        merged = Backtest()

    batch = map_tickets_dask(
        client,
        events,
        partial(backtest_part, old, new, now, zone=zone),
        status_map={**old.status_map, **new.status_map},
        fold=merged.merge,
        restart=restart,
    )
    return merged, batch


__all__ = ["audit_on_dask", "audit_share", "backtest_on_dask"]
