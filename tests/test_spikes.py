"""Spike alerts: volume against its baseline per channel, one alert per spike, via the outbox."""

from __future__ import annotations

import pytest

import slaengine
from live_support import (  # noqa: F401 (fixtures)
    at,
    created,
    event,
    postgres_server_fixture,
    state_url_fixture,
    store_fixture,
)
from slaengine.errors import PolicyError
from slaengine.hookspecs import hookimpl
from slaengine.live import Backoff, Dispatcher, LiveEngine
from slaengine.live.recipients import HOOK_PREFIX, plugin_routing
from slaengine.notifications import SPIKE, Notification
from slaengine.plugins import make_plugins
from slaengine.spikes import SpikeRule

# Window 10 minutes against the 60 minutes before it: a window is expected to hold a
# sixth of the baseline's count; three times that, and at least 5, is a spike.
POLICY = """
spikes:
  - name: social-surge
    measure: new_tickets
    channels: [twitter, instagram]
    window: 10m
    baseline: 60m
    ratio: 3x
    min_count: 5
    notify: [social-lead]
  - name: chat-messages
    measure: customer_messages
    window: 10m
    baseline: 60m
    ratio: 3x
    min_count: 4
policies:
  - name: all
    metrics: {first_response: {targets: 8h}}
"""


@pytest.fixture(scope="module")
def policies():
    return slaengine.loads_policies(POLICY, "spikes.yaml")


def test_a_rule_compares_the_window_with_its_share_of_the_baseline():
    rule = SpikeRule("r", "new_tickets", window=600, baseline=3600, ratio=3.0, min_count=5)
    assert rule.expected(12) == 2.0
    assert rule.is_spike(6, 12)  # 3x of 2
    assert not rule.is_spike(5, 12)
    assert not rule.is_spike(4, 0)  # below min_count, however quiet the baseline was
    assert rule.is_spike(5, 0)


def test_spike_rules_are_read_and_bad_ones_located():
    policies = slaengine.loads_policies(POLICY, "spikes.yaml")
    social, chat = policies.spikes
    assert (social.window, social.baseline, social.ratio, social.min_count) == (600, 3600, 3, 5)
    assert social.channels == frozenset({"twitter", "instagram"})
    assert social.notify == ("social-lead",)
    assert chat.channels is None
    line = "  - {name: s, measure: tickets, window: 1h, baseline: 30m}"
    with pytest.raises(PolicyError) as caught:
        slaengine.loads_policies(f"spikes:\n{line}\n", "bad.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"bad.yaml:2:{line.index('tickets') + 1}: E217 unknown measure 'tickets'; expected one "
        "of new_tickets, customer_messages; did you mean 'new_tickets'?",
        f"bad.yaml:2:{line.index('30m') + 1}: E217 a spike rule's baseline must be at least as "
        "long as its window",
    ]


def _steady(channel: str, minutes: range, prefix: str) -> list[dict]:
    return [created(f"{prefix}-{m}", m, channel=channel) for m in minutes]


def test_a_surge_alerts_once_per_channel_and_ends(policies, store):
    engine = LiveEngine(policies, store)
    # One twitter and one email ticket every 10 minutes for an hour: the baseline.
    engine.ingest(_steady("twitter", range(0, 60, 10), "tw"), at(0))
    engine.ingest(_steady("email", range(5, 60, 10), "em"), at(0))
    # Then 7 twitter tickets (and 7 e-mails, which the rule does not watch) in 10 minutes.
    burst = range(61, 68)
    engine.ingest(_steady("Twitter", burst, "tw-burst") + _steady("email", burst, "em-b"), at(68))
    report = engine.advance(at(70))
    [spike] = [n for n in report.notifications if n.kind == SPIKE]
    assert (spike.policy, spike.channel, spike.metric) == ("social-surge", "twitter", "new_tickets")
    assert spike.count == 7
    # Five in the hour before the window, (0, 60]: the ticket at minute 0 is just outside.
    assert spike.expected == pytest.approx(5 / 6)
    assert spike.key == f"spike/social-surge/twitter/{at(70)}"
    rows = [(r.key, r.recipient) for r in store.outbox() if r.kind == SPIKE]
    assert rows == [(spike.key, "social-lead")]
    # Still surging a minute later: no second alert for the same spike.
    engine.ingest(_steady("twitter", range(70, 71), "tw-more"), at(71))
    assert [n for n in engine.advance(at(71.5)).notifications if n.kind == SPIKE] == []
    # Quiet again: the spike ends; a later surge is a new spike.
    engine.advance(at(100))
    assert store.spikes_under_way() == {}
    engine.ingest(_steady("twitter", range(101, 108), "tw-again"), at(108))
    [again] = [n for n in engine.advance(at(109)).notifications if n.kind == SPIKE]
    assert again.key == f"spike/social-surge/twitter/{at(109)}"


def test_repeated_events_are_not_counted_twice(policies, store):
    engine = LiveEngine(policies, store)
    burst = [dict(created(f"tw-{m}", m, channel="twitter"), id=f"e{m}") for m in range(61, 65)]
    for _ in range(3):  # four tickets sent three times: still four, under min_count 5
        engine.ingest(burst, at(66))
    assert [n for n in engine.advance(at(66)).notifications if n.kind == SPIKE] == []
    [volume] = store.volumes(policies.spikes[0], at(66))
    assert (volume.channel, volume.count, volume.baseline_count) == ("twitter", 4, 0)


def test_customer_messages_count_by_their_tickets_channel(policies, store):
    engine = LiveEngine(policies, store)
    engine.ingest(
        [created("W-1", 0, channel="whatsapp"), created("E-1", 0, channel="email")], at(0)
    )
    messages = [event("W-1", 61 + n, "message", author="customer") for n in range(4)]
    messages += [
        event("W-1", 66, "message", author="agent"),  # not the customer
        event("W-1", 67, "message", author="customer", public=False),  # an internal note
        event("E-1", 62, "message", author="customer"),
    ]
    engine.ingest(messages, at(68))
    chat = policies.spikes[1]
    volumes = {v.channel: (v.count, v.baseline_count) for v in store.volumes(chat, at(68))}
    assert volumes == {"whatsapp": (4, 0), "email": (1, 0)}
    [spike] = [n for n in engine.advance(at(68)).notifications if n.kind == SPIKE]
    assert (spike.policy, spike.channel, spike.count) == ("chat-messages", "whatsapp", 4)


class Watcher:
    def __init__(self) -> None:
        self.seen: list[Notification] = []

    @hookimpl
    def slaengine_on_spike(self, notification: Notification) -> None:
        self.seen.append(notification)


def test_plugins_hear_of_spikes_through_the_outbox(policies, store):
    watcher = Watcher()
    routing = plugin_routing(make_plugins(entry_points=False, plugins=[("watcher", watcher)]))
    engine = LiveEngine(policies, store, routing.recipients)
    engine.ingest(_steady("instagram", range(61, 67), "ig"), at(67))
    engine.advance(at(67))
    recipients = {r.recipient for r in store.outbox() if r.kind == SPIKE}
    assert recipients == {"social-lead", HOOK_PREFIX + "watcher"}
    Dispatcher(store, routing.deliverers, Backoff()).dispatch(at(67))
    [heard] = watcher.seen
    assert heard == Notification.from_dict(heard.to_dict())
    assert heard.to_dict()["channel"] == "instagram"
    assert heard.to_dict()["count"] == 6
