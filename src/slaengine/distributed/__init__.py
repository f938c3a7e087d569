"""Audits and backtests on a Dask cluster, with the output of a local run.

``python3 -m pip install 'slaengine[dask]'``. Nothing here imports Dask until a
run connects (:func:`connected`) or is handed a ``dask.distributed.Client``.
:func:`audit_on_dask` and :func:`backtest_on_dask` are
:func:`slaengine.audit.audit_file` and the what-if backtest with the partitions
evaluated by the cluster's workers (see :mod:`slaengine.distributed.runner`);
``docs/distributed.md`` says how to run them against a real cluster.
"""

from __future__ import annotations

from slaengine.distributed.commands import audit_on_dask, backtest_on_dask
from slaengine.distributed.runner import ClusterError, connected, map_tickets_dask

__all__ = ["ClusterError", "audit_on_dask", "backtest_on_dask", "connected", "map_tickets_dask"]
