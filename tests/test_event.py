"""An event compares, hashes, prints and pickles by its fields, and keeps the named tuple's
``_fields``, ``_asdict`` and ``_replace``."""

from __future__ import annotations

import copy
import pickle

import pytest

from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import Event

FIELDS = (
    "ticket", "at", "type", "seq", "line", "id", "channel", "priority", "status", "customer",
    "group", "assignee", "tags", "fields", "author", "public", "agent", "score",
)  # fmt: skip
# A value of each field's type that _created's event does not have.
OTHER_VALUES = {
    "ticket": "T-2", "at": 1, "type": "update", "seq": 9, "line": 9, "id": "e2",
    "channel": "chat", "priority": "low", "status": "pending", "customer": "d", "group": "h",
    "assignee": "bo", "tags": (), "fields": ReadOnlyMap({}), "author": "bot", "public": False,
    "agent": "ann", "score": 1.0,
}  # fmt: skip


def _created() -> Event:
    return Event(
        "T-1", 1_764_583_200, "created", 3, 4, "e1", "email", "high", "open", "c", "g", "ann",
        ("vip",), ReadOnlyMap({"plan": "pro"}), "agent", True, None, None,
    )  # fmt: skip


def test_the_constructor_takes_every_field_in_order_and_by_name():
    event = _created()
    assert Event._fields == FIELDS == tuple(OTHER_VALUES)
    assert [getattr(event, name) for name in FIELDS] == list(event._asdict().values())
    assert list(event._asdict()) == list(FIELDS)
    assert Event(**event._asdict()) == event
    short = Event(ticket="T", at=5, type="message", author="customer")
    assert (short.seq, short.line, short.id, short.public, short.score) == (0, 0, None, True, None)


def test_events_are_equal_and_hash_alike_exactly_when_every_field_is():
    event = _created()
    assert event == _created()
    assert not event != _created()  # noqa: SIM202 - __ne__ is what is tested
    message = Event("T", 1, "message", 2, 2, "m", author="agent", agent="ann")
    assert hash(message) == hash(Event(**message._asdict()))
    assert len({message, Event(**message._asdict()), message._replace(seq=3)}) == 2
    for name, value in OTHER_VALUES.items():
        other = event._replace(**{name: value})
        assert other != event, name
        assert getattr(other, name) == value
    assert event != tuple(event._asdict().values())  # an event is not a tuple


def test_replace_refuses_an_unknown_field():
    with pytest.raises(ValueError, match="unexpected field names"):
        _created()._replace(when=3)


def test_the_text_names_every_field():
    text = repr(Event("T", 1, "message", author="bot"))
    assert text == (
        "Event(ticket='T', at=1, type='message', seq=0, line=0, id=None, channel=None, "
        "priority=None, status=None, customer=None, group=None, assignee=None, tags=None, "
        "fields=None, author='bot', public=True, agent=None, score=None)"
    )


def test_an_event_pickles_and_copies_as_its_constructor_call():
    event = _created()
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        loaded = pickle.loads(pickle.dumps(event, protocol))
        assert loaded == event
        assert type(loaded) is Event
    assert copy.copy(event) == event
    assert copy.deepcopy(event) == event
    assert event.__reduce__() == (Event, tuple(event._asdict().values()))
