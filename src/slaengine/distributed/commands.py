"""The audit and the what-if backtest on a Dask cluster: per partition, merged on the client."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

from slaengine.audit.accumulator import AuditAccumulator
from slaengine.audit.kpis import prepare_kpis
from slaengine.audit.run import (
    BREACH_COLUMNS,
    AuditOptions,
    audit_timelines,
    empty_audit,
    for_policies,
)
from slaengine.batches import BatchResult
from slaengine.distributed.runner import Client, map_tickets_dask
from slaengine.policy.model import PolicySet
from slaengine.timeline import TimelineSet
from slaengine.whatif import Backtest, backtest_part

# One partition's audit and, when asked for, its breached clocks as CSV rows.
AuditShare = tuple[AuditAccumulator, str]


def audit_share(
    policies: PolicySet, options: AuditOptions, breaches: bool, timelines: TimelineSet
) -> AuditShare:
    """Audit one partition on a worker (:func:`~slaengine.audit.run.audit_timelines`)."""
    if not breaches:
        return audit_timelines(policies, options, timelines).audit, ""
    with tempfile.TemporaryDirectory(prefix="slaengine-breaches-") as tmp:
        part = audit_timelines(policies, options, timelines, breaches_dir=tmp)
        assert part.breaches is not None
        return part.audit, Path(part.breaches).read_text(encoding="utf-8")


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
    this process). ``breaches`` is written here, in partition order.
    """
    options = for_policies(options, policies)
    merged = empty_audit(options)
    out: IO[str] | None = None

    def start_breaches() -> None:
        nonlocal out
        if breaches is not None:
            if out is not None:
                out.close()
            # Open across the folds, closed in audit_on_dask's finally.
            out = Path(breaches).open("w", encoding="utf-8", newline="")  # noqa: SIM115
            csv.writer(out, lineterminator="\n").writerow(BREACH_COLUMNS)

    def fold(share: AuditShare) -> None:
        merged.merge(share[0])
        if out is not None:
            out.write(share[1])
        if on_partition is not None:
            on_partition()

    def restart() -> None:
        nonlocal merged
        merged = empty_audit(options)
        start_breaches()

    start_breaches()
    try:
        batch = map_tickets_dask(
            client,
            events,
            partial(audit_share, policies, options, breaches is not None),
            status_map=policies.status_map,
            fold=fold,
            restart=restart,
        )
    finally:
        if out is not None:
            out.close()
    prepare_kpis([group for view in merged.views for group in merged.view(view).values()], 1)
    return merged, batch


def backtest_on_dask(
    client: Client,
    old: PolicySet,
    new: PolicySet,
    events: str | os.PathLike[str],
    now: int,
) -> tuple[Backtest, BatchResult[Any]]:
    """The what-if backtest of an events file on the Dask cluster of ``client``."""
    merged = Backtest()

    def restart() -> None:
        nonlocal merged
        merged = Backtest()

    batch = map_tickets_dask(
        client,
        events,
        partial(backtest_part, old, new, now),
        status_map={**old.status_map, **new.status_map},
        fold=merged.merge,
        restart=restart,
    )
    return merged, batch


__all__ = ["audit_on_dask", "audit_share", "backtest_on_dask"]
