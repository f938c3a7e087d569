"""Streaming batch audit: SLA compliance and support KPIs over a whole events file.

:class:`AuditAccumulator` gathers per-group counts and durations ticket by
ticket and merges exactly across partitions; :func:`audit_file` runs it over a
file with :func:`slaengine.batches.fold_tickets`; :func:`group_kpis` turns one
group into KPI values. ``docs/kpis.md`` defines every KPI.
"""

from __future__ import annotations

from slaengine.audit.accumulator import (
    DIMENSIONS,
    NONE,
    STANDARD_VIEWS,
    AuditAccumulator,
    GroupStats,
    MetricStats,
    parse_dimensions,
    views_for,
)
from slaengine.audit.facts import TicketFacts, ticket_facts
from slaengine.audit.kpis import METRICS, group_kpis
from slaengine.audit.periods import PERIODS, WEEKDAYS, LocalBuckets
from slaengine.audit.run import BREACH_COLUMNS, AuditOptions, AuditPart, audit_file, audit_timelines
from slaengine.audit.stats import BUCKET_EDGES, histogram, nearest_rank, summarize
from slaengine.compiled import register_pickling

# The audit's compiled classes pickle as their constructor calls (slaengine.compiled).
register_pickling(__name__)

__all__ = [
    "BREACH_COLUMNS",
    "BUCKET_EDGES",
    "DIMENSIONS",
    "METRICS",
    "NONE",
    "PERIODS",
    "STANDARD_VIEWS",
    "WEEKDAYS",
    "AuditAccumulator",
    "AuditOptions",
    "AuditPart",
    "GroupStats",
    "LocalBuckets",
    "MetricStats",
    "TicketFacts",
    "audit_file",
    "audit_timelines",
    "group_kpis",
    "histogram",
    "nearest_rank",
    "parse_dimensions",
    "summarize",
    "ticket_facts",
    "views_for",
]
