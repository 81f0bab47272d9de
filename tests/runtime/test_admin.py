"""Repairs, cancel, purge and history on the in-memory runtime (and the admin routes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from pydantic import ConfigDict

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine import Go, OnEvent, S, Section, Step, Wait, WaitFor, Workflow
from engine.admin import Admin
from engine.errors import (
    InstanceNotFound,
    InvalidData,
    InvalidRepair,
    ThreadExists,
    WorkflowError,
    WorkflowFinished,
)
from engine.http_errors import status_of
from engine.registry import Registry, RetryPolicy
from engine.testing import Harness

PAYMENT = {"paid_amount": 10, "delivery_address": "x"}


class Flaky(Workflow):
    """A step that fails while ``Flaky.calls <= fail_times``."""

    calls: ClassVar[int] = 0
    fail_times: int = 0
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=2, initial_backoff=1)

    def definition(self) -> Section:
        return S(Step("charge", self.charge), Wait("w", OnEvent("go", lambda: None)))

    def charge(self) -> None:
        Flaky.calls += 1
        if Flaky.calls <= self.fail_times:
            raise RuntimeError("declined")


@pytest.fixture
def h() -> Harness:
    harness = Harness()
    harness.service.keep_history = True
    return harness


def confirmed(h: Harness) -> None:
    h.create("pizza", "o1")
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    h.send("pizza", "o1", "submit")
    h.send("pizza", "o1", "confirm", {"manager_name": "m", "amount": 10})


def unchanged(h: Harness, bad: Any, error: type[WorkflowError]) -> None:
    before = h.get("pizza", "o1")
    history = h.history("pizza", "o1").items
    with pytest.raises(error):
        bad()
    assert h.get("pizza", "o1") == before
    assert h.history("pizza", "o1").items == history


def test_replace_data_is_validated_and_resumes(h: Harness) -> None:
    confirmed(h)
    admin = Admin(h.service)
    unchanged(h, lambda: admin.replace_data("pizza", "o1", {"paid_amount": "lots"}), InvalidData)
    unchanged(h, lambda: admin.replace_data("pizza", "o1", {"nope": 1}), InvalidRepair)
    view = admin.replace_data("pizza", "o1", {"paid_amount": 10}, actor="ops@example.com")
    assert view["state"]["paid_amount"] == 10
    assert [t["id"] for t in view["meta"]["threads"]] == ["_main", "payment thread"]
    last = h.history("pizza", "o1").items[-1]
    assert (last.kind, last.name, last.actor) == ("repair", "replace_data", "ops@example.com")
    for event, body in [("start_cooking", {"cook_name": "c"}), ("cooked", None)]:
        h.send("pizza", "o1", event, body)
    h.send("pizza", "o1", "take_for_delivery")
    h.send("pizza", "o1", "delivered")
    assert h.get("pizza", "o1")["state"]["status"] == "completed"  # WaitFor saw the repair


def test_goto_moves_a_thread_to_a_named_statement(h: Harness) -> None:
    confirmed(h)
    admin = Admin(h.service)
    unchanged(h, lambda: admin.goto("pizza", "o1", "_main", "no such step"), InvalidRepair)
    unchanged(h, lambda: admin.goto("pizza", "o1", "_main", "payment"), InvalidRepair)
    unchanged(h, lambda: admin.goto("pizza", "o1", "ghost", "oven"), InvalidRepair)
    view = admin.goto("pizza", "o1", "_main", "delivery")
    main = next(t for t in view["meta"]["threads"] if t["id"] == "_main")
    assert main["cur"] == "delivery" and main["status"] == "WaitingEvent"
    waits = [(w["name"], w["kind"], w["status"]) for w in main["waits"]]
    assert waits == [
        ("delivered", "OnEvent", "Waiting"),
        ("delivered_timeout", "Timeout", "Waiting"),
    ]
    assert any("delivered_timeout" in name for name in h.scheduler.tasks)  # its timer is set
    h.send("pizza", "o1", "delivered")  # the moved thread accepts the wait's event
    h.send("pizza", "o1", "confirm_payment", PAYMENT)
    assert h.get("pizza", "o1")["state"]["status"] == "completed"
    # the timer of the wait the thread left is stale now
    h.advance(3600)
    assert h.get("pizza", "o1")["meta"]["status"] == "Finished"


def test_add_and_remove_threads(h: Harness) -> None:
    confirmed(h)
    admin = Admin(h.service)
    unchanged(h, lambda: admin.remove_thread("pizza", "o1", "_main"), InvalidRepair)
    unchanged(
        h,
        lambda: admin.add_thread("pizza", "o1", "payment thread", "payment thread"),
        InvalidRepair,
    )
    unchanged(h, lambda: admin.add_thread("pizza", "o1", "p2", "oven"), InvalidRepair)
    view = admin.remove_thread("pizza", "o1", "payment thread")
    assert [t["id"] for t in view["meta"]["threads"]] == ["_main"]
    view = admin.add_thread("pizza", "o1", "payment thread", "payment thread")
    assert {t["id"] for t in view["meta"]["threads"]} == {"_main", "payment thread"}
    h.send("pizza", "o1", "confirm_payment", PAYMENT)
    assert h.get("pizza", "o1")["state"]["paid_amount"] == 10


def test_retry_a_failed_step_now() -> None:
    reg = Registry()
    reg.add("flaky", Flaky)
    h = Harness(reg)
    Flaky.calls = 0
    h.create("flaky", "f1", {"fail_times": 10})
    h.advance(3600)
    assert h.get("flaky", "f1")["meta"]["status"] == "Failed"
    admin = Admin(h.service)
    calls = Flaky.calls
    view = admin.replace_data("flaky", "f1", {"fail_times": 0})
    assert view["meta"]["status"] == "Failed" and Flaky.calls == calls  # data alone: no retry
    view = admin.retry("flaky", "f1")
    assert view["meta"]["status"] == "Waiting" and Flaky.calls == calls + 1
    with pytest.raises(InvalidRepair):
        admin.retry("flaky", "f1")


def test_cancel_makes_timers_stale_and_purge_deletes(h: Harness) -> None:
    h.create("pizza", "o1")
    admin = Admin(h.service)
    with pytest.raises(InvalidRepair):
        admin.purge("pizza", "o1")  # not finished
    view = admin.cancel("pizza", "o1", actor="ops")
    assert view["meta"]["status"] == "Finished" and view["meta"]["error"] == "cancelled by ops"
    assert h.store.get("pizza", "o1").expires_at is not None  # type: ignore[union-attr]
    h.advance(48 * 3600)
    assert h.get("pizza", "o1")["state"]["status"] == "setup"  # the cart timer did nothing
    with pytest.raises(WorkflowFinished):
        admin.cancel("pizza", "o1")
    admin.purge("pizza", "o1")
    with pytest.raises(InstanceNotFound):
        h.get("pizza", "o1")
    assert h.store.history("pizza", "o1", upto=10**9).items == []


def test_history_records_each_request_in_the_same_commit(h: Harness) -> None:
    writes = h.store.writes
    h.create("pizza", "o1")
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    assert h.store.writes - writes == 4  # (document + history entry) per request
    entries = h.history("pizza", "o1").items
    assert [(e.seq, e.kind, e.name) for e in entries] == [(1, "create", ""), (2, "event", "add")]
    assert entries[1].output and '"qty": 1' in entries[1].output and entries[1].moves > 0
    page = h.history("pizza", "o1", after=1, limit=1)
    assert [e.seq for e in page.items] == [2] and page.next_cursor is None


def test_history_entries_expire_and_an_id_used_again_starts_a_clean_history(h: Harness) -> None:
    h.create("pizza", "o1")
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    h.send("pizza", "o1", "add", {"name": "b", "qty": 1})
    first = h.history("pizza", "o1").items
    assert all(e.expires_at == e.at + h.service.history_retention for e in first)
    # The instance's TTL deletes its document; its history subcollection stays behind.
    del h.store._docs[("pizza", "o1")]
    h.create("pizza", "o1")
    again = h.history("pizza", "o1").items
    assert [(e.seq, e.kind) for e in again] == [(1, "create")]
    assert again[0].at >= first[-1].at


def test_a_finished_instance_cannot_have_its_data_replaced(h: Harness) -> None:
    confirmed(h)
    admin = Admin(h.service)
    admin.cancel("pizza", "o1")
    unchanged(h, lambda: admin.replace_data("pizza", "o1", {"status": "again"}), WorkflowFinished)


class Forked(Workflow):
    """Prepares, starts a side thread, then waits."""

    def definition(self) -> Section:
        return S(
            Step("prep", lambda: None),
            Go("side", Wait("side wait", OnEvent("poke", lambda: None))),
            Wait("w", OnEvent("go", lambda: None)),
        )


def test_a_goto_that_would_start_a_running_thread_again_is_refused_whole() -> None:
    reg = Registry()
    reg.add("forked", Forked)
    h = Harness(reg)
    h.create("forked", "f1")
    admin = Admin(h.service)
    unchanged_in(h, "forked", "f1", lambda: admin.goto("forked", "f1", "_main", "prep"))
    with pytest.raises(ThreadExists) as info:
        admin.goto("forked", "f1", "_main", "prep")
    assert status_of(info.value) == 409


def unchanged_in(h: Harness, workflow: str, id: str, bad: Any) -> None:
    before = h.get(workflow, id)
    with pytest.raises(WorkflowError):
        bad()
    assert h.get(workflow, id) == before


class Strict(Workflow):
    model_config = ConfigDict(strict=True)
    when: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    note: str = ""

    def definition(self) -> Section:
        return S(Wait("w", OnEvent("go", lambda: None)))


def test_data_of_a_strict_model_can_be_replaced() -> None:
    reg = Registry()
    reg.add("strict", Strict)
    h = Harness(reg)
    h.create("strict", "s1")
    view = Admin(h.service).replace_data("strict", "s1", {"note": "fixed"})
    assert view["state"]["note"] == "fixed" and view["state"]["when"].startswith("2026-01-01")


class Stepwise(Workflow):
    checkpoint_every_step: ClassVar[bool] = True
    ready: bool = False
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            WaitFor("ready", self.ready),
            Step("one", lambda: self.log.append("one")),
            Step("two", lambda: self.log.append("two")),
        )


def test_a_repair_of_a_checkpointed_workflow_goes_on_at_once() -> None:
    reg = Registry()
    reg.add("stepwise", Stepwise)
    h = Harness(reg)
    h.create("stepwise", "c1")
    view = Admin(h.service).replace_data("stepwise", "c1", {"ready": True})
    assert view["meta"]["status"] == "Finished" and view["state"]["log"] == ["one", "two"]


@pytest.mark.parametrize("thread", ["a/b", "tab\there", "", "x" * 201])
def test_a_thread_id_that_routes_could_not_name_is_refused(h: Harness, thread: str) -> None:
    confirmed(h)
    admin = Admin(h.service)
    admin.remove_thread("pizza", "o1", "payment thread")
    unchanged(h, lambda: admin.add_thread("pizza", "o1", thread, "payment thread"), InvalidRepair)


def test_a_data_repair_with_values_json_cannot_carry_is_refused(h: Harness) -> None:
    confirmed(h)
    admin = Admin(h.service)
    unchanged(h, lambda: admin.replace_data("pizza", "o1", {"status": {1, 2}}), InvalidData)
    unchanged(h, lambda: admin.replace_data("pizza", "o1", {"amount": float("nan")}), InvalidData)
    view = admin.replace_data("pizza", "o1", {"status": datetime(2026, 1, 2, tzinfo=UTC)})
    assert view["state"]["status"].startswith("2026-01-02")
