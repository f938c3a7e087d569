"""slaengine: SLA policies for customer support, evaluated exactly in business time.

The public API is what ``__all__`` lists::

    import slaengine
    policies = slaengine.load_policies("policies/")
    timelines = slaengine.read_events("examples/tickets.jsonl", policies.status_map)
    for result in slaengine.evaluate(policies, timelines, now):
        ...
"""

from __future__ import annotations

__version__ = "0.1.0"

from slaengine.calendar import AlwaysOpen, BusinessCalendar, WeeklyCalendar
from slaengine.clock_record import ClockRecord
from slaengine.clocks import ClockResult
from slaengine.compiled import register_pickling
from slaengine.engine import TicketResult, evaluate, evaluate_timeline, iter_evaluate
from slaengine.errors import EventError, PolicyError, Problem, SlaEngineError, UserError
from slaengine.event_parsing import parse_event
from slaengine.inputs import parse_lines, read_events
from slaengine.policy import Policy, PolicySet, load_policies, loads_policies, read_policies
from slaengine.report.json import ticket_to_dict
from slaengine.timeline import Event, Timeline, TimelineSet, build_timelines

# The same pickles whether the engine runs compiled or not (slaengine.compiled).
register_pickling()

__all__ = [
    "AlwaysOpen",
    "BusinessCalendar",
    "ClockRecord",
    "ClockResult",
    "Event",
    "EventError",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Problem",
    "SlaEngineError",
    "TicketResult",
    "Timeline",
    "TimelineSet",
    "UserError",
    "WeeklyCalendar",
    "__version__",
    "build_timelines",
    "evaluate",
    "evaluate_timeline",
    "iter_evaluate",
    "load_policies",
    "loads_policies",
    "parse_event",
    "parse_lines",
    "read_events",
    "read_policies",
    "ticket_to_dict",
]
