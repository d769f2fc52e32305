"""The tracker holds streamed aggregates weakly: memory stays flat, events are still published."""

from __future__ import annotations

import copy
import gc
import pickle
from decimal import Decimal

from andamios.ports._tracker import Tracker
from andamios.testing.models import Gadget, GadgetRenamed


def _gadget(n: int) -> Gadget:
    return Gadget(sku=f"S-{n}", name="g", price=Decimal(n))


def test_a_streamed_aggregate_is_seen_while_alive_and_then_forgotten() -> None:
    tracker = Tracker("uow")
    kept, dropped = _gadget(1), _gadget(2)
    tracker.see(held := _gadget(0))
    tracker.see_streamed([kept])
    tracker.see_streamed([dropped])
    tracker.see_streamed([held])  # seen already: listed once, first
    assert tracker.seen() == [held, kept, dropped]
    del dropped
    gc.collect()
    assert tracker.seen() == [held, kept]


def test_the_dead_are_dropped_as_a_long_stream_goes_on() -> None:
    tracker = Tracker("uow")
    survivor = _gadget(-1)
    tracker.see_streamed([survivor])
    for n in range(5000):
        tracker.see_streamed([_gadget(n)])  # dropped at once, as a stream's loop drops them
    assert len(tracker._streamed) < 2100  # pruned, not 5,001 references
    assert tracker.seen() == [survivor]


def test_an_event_recorded_on_a_streamed_aggregate_makes_the_tracker_hold_it() -> None:
    tracker = Tracker("uow")
    gadget = _gadget(1)
    tracker.see_streamed([gadget])
    gadget.rename("renamed")
    del gadget
    gc.collect()
    tracker.harvest()
    assert [e.name for e in tracker.collect_events() if isinstance(e, GadgetRenamed)] == ["renamed"]


def test_one_streamed_with_events_already_is_held_at_once() -> None:
    tracker = Tracker("uow")
    gadget = _gadget(1)
    gadget.rename("before")
    tracker.see_streamed([gadget])
    del gadget
    gc.collect()
    assert [g.name for g in tracker.seen() if isinstance(g, Gadget)] == ["before"]


def test_a_copy_or_a_pickle_of_a_streamed_aggregate_does_not_carry_the_tracker() -> None:
    tracker = Tracker("uow")
    gadget = _gadget(1)
    tracker.see_streamed([gadget])
    for twin in (copy.deepcopy(gadget), pickle.loads(pickle.dumps(gadget))):
        twin.rename("twin")  # told to no one
        assert twin.pending_events == (GadgetRenamed(gadget_id=twin.id, name="twin"),)
    assert tracker.seen() == [gadget]
    tracker.harvest()
    assert list(tracker.collect_events()) == []


def test_discarding_events_forgets_the_streamed_and_their_watch() -> None:
    tracker = Tracker("uow")
    gadget = _gadget(1)
    tracker.see_streamed([gadget])
    gadget.rename("rolled back")
    tracker.discard_events()
    assert tracker.seen() == []
    assert gadget.pending_events == ()
    gadget.rename("after")  # no tracker listens any more
    assert tracker.seen() == []


def test_a_batch_holds_those_with_events_and_only_watches_the_rest() -> None:
    tracker = Tracker("uow")
    eventful, plain, dropped = _gadget(1), _gadget(2), _gadget(3)
    eventful.rename("before")
    tracker.see_streamed([plain, eventful, dropped])
    del eventful, dropped
    gc.collect()
    assert [g.sku for g in tracker.seen() if isinstance(g, Gadget)] == ["S-1", "S-2"]
    plain.rename("later")  # its watch tells the tracker, which holds it from now on
    tracker.harvest()
    assert [e.name for e in tracker.collect_events() if isinstance(e, GadgetRenamed)] == [
        "before",
        "later",
    ]


def test_a_watch_of_another_tracker_is_left_alone_by_a_discard() -> None:
    streaming, other = Tracker("streaming"), Tracker("other")
    gadget = _gadget(1)
    streaming.see_streamed([gadget])
    other.see(gadget)
    other.discard_events()  # it streamed nothing: the streaming tracker's watch stays
    gadget.rename("heard")
    assert gadget in streaming.seen()
    streaming.harvest()
    assert [e.name for e in streaming.collect_events() if isinstance(e, GadgetRenamed)] == ["heard"]
