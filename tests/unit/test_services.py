"""The server-wide stores' one bounded LRU: what it drops, what it keeps, and the study registry on it."""

from __future__ import annotations

import threading

import pytest

from components.services import BoundedLRU, StudyRegistry


def test_the_least_recently_used_entry_goes_first_and_a_read_counts_as_a_use():
    store: BoundedLRU[str, int] = BoundedLRU(2)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1  # "b" is now the least recently used
    store.put("c", 3)
    assert store.get("b") is None and store.get("a") == 1 and store.get("c") == 3 and len(store) == 2
    store.put("a", 10)  # a new value for a key kept: nothing dropped
    assert [key for key, _ in store.items()] == ["c", "a"] and store.get("a") == 10


def test_pinned_entries_stay_and_the_new_entry_is_never_the_one_dropped():
    store: BoundedLRU[str, dict] = BoundedLRU(2, pinned=lambda value: value["busy"])
    store.put("old-busy", {"busy": True})
    store.put("idle", {"busy": False})
    store.put("new", {"busy": False})
    assert [key for key, _ in store.items()] == ["old-busy", "new"]  # the idle one went, the busy one stayed
    store.put("newer-busy", {"busy": True})
    store.put("newest", {"busy": True})
    assert len(store) == 3 and store.get("new") is None  # over the limit while everything left is pinned


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        BoundedLRU(0)


def test_the_registry_forgets_finished_studies_beyond_its_limit_but_never_a_running_one():
    registry, release = StudyRegistry(limit=1), threading.Event()

    def running(progress, on_epoch, stop):
        release.wait(30)

    assert registry.start("/x/a.journal", "a", running)
    assert registry.start("/x/b.journal", "b", lambda progress, on_epoch, stop: None)
    assert registry.wait("/x/b.journal", 10)
    assert registry.running() == ["/x/a.journal"] and registry.view("/x/a.journal").alive  # kept: its thread runs
    release.set()
    assert registry.wait("/x/a.journal", 10)
    assert registry.start("/x/c.journal", "c", lambda progress, on_epoch, stop: None)
    registry.wait("/x/c.journal", 10)
    assert registry.view("/x/a.journal") is None and registry.view("/x/b.journal") is None
    assert registry.view("/x/c.journal") is not None
