"""Crash injection: a failure at any point between handling and enqueueing loses no timer."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine.errors import Unavailable
from engine.scheduler import TaskSpec
from engine.store import Change, InstanceDoc, Mutation
from engine.testing import Harness, MemoryScheduler, MemoryStore

T = TypeVar("T")


class Crash(Exception):
    """The process dies here."""


class CrashingStore(MemoryStore):
    """Runs the mutation, then dies before the write when ``crash_before_write`` is set."""

    crash_before_write = False

    def transact(self, workflow: str, id: str, fn: Mutation[T]) -> T:
        def wrapped(doc: InstanceDoc | None) -> tuple[Change | None, T]:
            new, result = fn(doc)
            if self.crash_before_write and new is not None:
                raise Crash("died before commit")
            return new, result

        return super().transact(workflow, id, wrapped)


class FlakyScheduler(MemoryScheduler):
    """Fails to enqueue while ``down`` is set; dies in ``cancel`` while ``cancel_dies``."""

    down = False
    cancel_dies = False

    def enqueue(self, task: TaskSpec) -> None:
        if self.down:
            raise Unavailable("Cloud Tasks", "injected outage")
        super().enqueue(task)

    def cancel(self, name: str) -> None:
        if self.cancel_dies:
            raise Crash("died before deleting the timer")
        super().cancel(name)


def _harness() -> tuple[Harness, CrashingStore, FlakyScheduler]:
    store, scheduler = CrashingStore(), FlakyScheduler()
    return Harness(store=store, scheduler=scheduler), store, scheduler


def _doc(h: Harness, id: str) -> Any:
    return h.get("pizza", id)


def test_enqueue_failure_applies_nothing_and_a_retry_works() -> None:
    h, _, scheduler = _harness()
    h.create("pizza", "o1", {"timeouts": {"cart": 5}})
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    before = _doc(h, "o1")
    scheduler.down = True
    with pytest.raises(Unavailable):
        h.send("pizza", "o1", "submit")  # would enqueue the confirm timer
    assert _doc(h, "o1") == before
    scheduler.down = False
    h.send("pizza", "o1", "submit")
    h.advance(600)  # the confirm timer exists and fires
    assert _doc(h, "o1")["state"]["status"] == "not confirmed"


def test_crash_after_enqueue_before_commit_leaves_a_stale_task_and_no_lost_timer() -> None:
    h, store, _ = _harness()
    h.create("pizza", "o1")
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    before = _doc(h, "o1")
    store.crash_before_write = True
    with pytest.raises(Crash):
        h.send("pizza", "o1", "submit")
    assert _doc(h, "o1") == before  # nothing committed
    orphan = [t for t in h.scheduler.tasks.values() if t.payload.event == "confirm_timeout"]
    assert len(orphan) == 1  # created before the commit that never happened
    store.crash_before_write = False
    # The orphan fires: the instance does not wait for it, so it is stale and harmless.
    assert h.service.run_task(orphan[0].payload.model_copy(update={"due": None})) == "stale"
    assert _doc(h, "o1") == before
    # The client retries; the timer of the committed wait fires on time.
    h.send("pizza", "o1", "submit")
    h.advance(600)
    assert _doc(h, "o1")["state"]["status"] == "not confirmed"


def test_crash_after_commit_before_timer_deletion_is_harmless() -> None:
    h, _, scheduler = _harness()
    h.create("pizza", "o1", {"timeouts": {"cart": 5}})
    (cart_timer,) = scheduler.tasks.values()
    scheduler.cancel_dies = True
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})  # commit, then the deletion dies
    scheduler.cancel_dies = False
    after = _doc(h, "o1")
    assert cart_timer.name in scheduler.tasks  # the old timer survived
    assert h.service.run_task(cart_timer.payload.model_copy(update={"due": None})) == "stale"
    assert _doc(h, "o1") == after
    h.advance(5)  # the new cart timer still works
    assert _doc(h, "o1")["state"]["status"] == "cart expired"


def test_redelivered_event_request_after_lost_response_is_not_applied_twice() -> None:
    h, _, _ = _harness()
    h.create("pizza", "o1")
    h.service.send("pizza", "o1", "add", {"name": "a", "qty": 1}, idempotency_key="r1")
    h.service.send("pizza", "o1", "add", {"name": "a", "qty": 1}, idempotency_key="r1")
    assert len(_doc(h, "o1")["state"]["cart"]) == 1
