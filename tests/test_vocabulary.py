"""One typed vocabulary for clock results; the words in JSON stay what they were."""

from __future__ import annotations

import json

import pytest

from slaengine import clocks, explain
from slaengine.policy import model
from slaengine.vocabulary import ClockState, MetricKind, SegmentReason, StopReason


def test_clock_words_are_the_vocabulary():
    assert clocks.STATES == ("active", "paused", "achieved", "breached", "cancelled")
    assert all(type(state) is ClockState for state in clocks.STATES)
    assert tuple(StopReason) == (
        clocks.FULFILLED,
        clocks.SOLVED,
        clocks.SUPERSEDED,
        StopReason.CANCELLED,  # only metrics defined in YAML have cancel triggers
        StopReason.DETACHED,  # only agreements' clocks, under on_unmatch: detach
    )
    assert tuple(MetricKind) == model.METRIC_KINDS
    assert model.METRIC_KINDS == (
        "first_response",
        "next_response",
        "periodic_update",
        "resolution",
    )
    assert explain.SEGMENT_KINDS == ("running", "paused", "closed", "stopped")
    assert all(type(kind) is SegmentReason for kind in explain.SEGMENT_KINDS)


@pytest.mark.parametrize("member", [*ClockState, *StopReason, *MetricKind, *SegmentReason])
def test_members_print_and_serialise_as_their_word(member):
    assert json.dumps({"state": member}) == json.dumps({"state": member.value})
    assert f"{member}" == str(member) == member.value
    assert {member.value: 1}[member] == 1


def test_counted_reasons():
    counted = {reason for reason in SegmentReason if reason.counted}
    assert counted == {SegmentReason.RUNNING, SegmentReason.HIDDEN}
