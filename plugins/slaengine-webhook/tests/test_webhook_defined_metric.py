"""A metric defined only in YAML, from the live engine's outbox to a webhook receiver."""

from __future__ import annotations

import json
from pathlib import Path

from slaengine_webhook import hooks

import slaengine
from slaengine.event_parsing import parse_instant
from slaengine.live import Dispatcher, LiveEngine, Store
from slaengine.live.recipients import plugin_routing
from slaengine.plugins import make_plugins

POLICY = """\
version: 1
metrics:
  time_to_own:
    description: From creation to the first assignment.
    start: created
    stop: assigned
policies:
  - name: support
    calendar: 24x7
    metrics:
      time_to_own:
        targets: 1h
        escalations: [{after: 0m, notify: [team-lead, leads-slack]}]
"""


def test_an_escalation_of_a_yaml_metric_reaches_the_receiver(receiver, tmp_path: Path) -> None:
    plugins = make_plugins(entry_points=False, plugins=[("webhook", hooks)])
    plugins.configure(
        {
            "plugins": {
                "webhook": {
                    "targets": {
                        "team-lead": {"url": receiver.url},
                        "leads-slack": {"url": receiver.url, "format": "slack"},
                    }
                }
            }
        }
    )
    routing = plugin_routing(plugins)
    policies = slaengine.loads_policies(POLICY, "support.yaml", notifiers=plugins.notifiers())
    store = Store.open(str(tmp_path / "state.db"))
    try:
        engine = LiveEngine(policies, store, routing.recipients)
        created = {
            "id": "e1", "ticket": "T-7", "at": "2025-12-01T09:00:00Z", "type": "created",
            "channel": "email", "priority": "high",
        }  # fmt: skip
        engine.ingest([created], parse_instant("2025-12-01T09:00:00Z"))
        now = parse_instant("2025-12-01T10:05:00Z")
        engine.advance(now)
        report = Dispatcher(store, routing.deliverers).dispatch(now)
        assert (report.delivered, report.failed) == (2, 0)
    finally:
        store.close()
    bodies = sorted((json.loads(r.body) for r in receiver.requests), key=lambda b: "text" in b)
    plain, slack = bodies
    assert plain["event"] == "sla.escalation"
    assert plain["notification"]["metric"] == "time_to_own"
    assert plain["notification"]["key"] == "T-7/time_to_own/1/escalation/1"
    assert "ticket T-7, time_to_own," in slack["text"]
