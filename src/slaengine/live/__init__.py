"""The live engine: durable state, an outbox of notifications and the worker around the core.

Embedding::

    from slaengine.live import LiveEngine, Store
    engine = LiveEngine(policies, Store.open("state.db"))
    engine.ingest([event, ...], now)
    engine.status("T-1", now)       # per metric: state, due, remaining, next alert
    engine.advance(now)             # queue what fell due by now into the outbox
"""

from __future__ import annotations

from slaengine.live.dispatch import Backoff, Dispatcher, DispatchReport
from slaengine.live.engine import AdvanceReport, IngestReport, LiveEngine
from slaengine.live.recipients import Routing, plugin_routing
from slaengine.live.store import OutboxRow, Store

__all__ = [
    "AdvanceReport",
    "Backoff",
    "DispatchReport",
    "Dispatcher",
    "IngestReport",
    "LiveEngine",
    "OutboxRow",
    "Routing",
    "Store",
    "plugin_routing",
]
