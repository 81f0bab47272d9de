"""Runtime service semantics on the in-memory store: retries, budgets, timers, idempotency."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ConfigDict, Field

from engine import For, OnEvent, S, Section, Step, Timeout, Wait, Workflow, current_step
from engine._names import is_name
from engine.errors import (
    IdempotencyKeyReused,
    InstanceExists,
    InstanceNotFound,
    InstanceTooLarge,
    InvalidData,
    InvalidName,
    UnknownEvent,
)
from engine.registry import Registry, RetryPolicy
from engine.runtime import MAX_DOCUMENT_BYTES
from engine.scheduler import TaskKind
from engine.testing import Harness

CALLS: dict[str, int] = {}
KEYS: list[str] = []


class Flaky(Workflow):
    """A step that fails ``fail_times`` times before it succeeds."""

    fail_times: int = 2
    done: bool = False

    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=3, initial_backoff=10)

    def definition(self) -> Section:
        return S(Step("charge", self.charge), Wait("w", OnEvent("go", self.go)))

    def charge(self) -> None:
        CALLS["charge"] = CALLS.get("charge", 0) + 1
        info = current_step()
        assert info is not None
        KEYS.append(info.idempotency_key)
        if CALLS["charge"] <= self.fail_times:
            raise RuntimeError("card declined")
        self.done = True

    def go(self) -> None:
        CALLS["go"] = CALLS.get("go", 0) + 1


class Counter(Workflow):
    """Counts to ``target`` in a loop of steps."""

    n: int = 0
    target: int = 10

    def definition(self) -> Section:
        return S(For("count", self.n < self.target, Step("inc", self.inc)))

    def inc(self) -> None:
        self.n += 1


class CheckpointedCounter(Counter):
    """The same, committing after every step."""

    checkpoint_every_step: ClassVar[bool] = True


class LongTimer(Workflow):
    """Waits 90 days for an answer."""

    outcome: str = ""

    def definition(self) -> Section:
        return S(
            Wait(
                "answer",
                OnEvent("reply", self.reply),
                Timeout("expired", 90 * 24 * 3600, Step("expire", self.expire)),
            )
        )

    def reply(self) -> None:
        self.outcome = "replied"

    def expire(self) -> None:
        self.outcome = "expired"


@pytest.fixture
def harness() -> Harness:
    CALLS.clear()
    KEYS.clear()
    reg = Registry()
    reg.add("flaky", Flaky)
    reg.add("counter", Counter)
    reg.add("checkpointed", CheckpointedCounter)
    reg.add("long", LongTimer)
    return Harness(reg)


def test_failed_step_is_retried_with_backoff_then_succeeds(harness: Harness) -> None:
    view = harness.create("flaky", "f1")
    assert view["meta"]["status"] == "Resuming"
    thread = view["meta"]["threads"][0]
    assert (thread["attempts"], thread["error"]) == (1, "RuntimeError: card declined")
    assert harness.advance(9) == 0  # backoff of 10 s not over yet
    assert CALLS["charge"] == 1
    harness.advance(1)
    assert CALLS["charge"] == 2  # second failure, next backoff 20 s
    harness.advance(19)
    assert CALLS["charge"] == 2
    harness.advance(1)
    assert CALLS["charge"] == 3
    view = harness.get("flaky", "f1")
    assert view["meta"]["status"] == "Waiting" and view["state"]["done"] is True
    assert len(set(KEYS)) == 3  # one idempotency key per attempt


def test_step_past_its_retry_policy_fails_the_instance(harness: Harness) -> None:
    harness.create("flaky", "f1", {"fail_times": 99})
    harness.advance(3600)
    assert CALLS["charge"] == 3  # max_attempts
    view = harness.get("flaky", "f1")
    assert view["meta"]["status"] == "Failed"
    assert "card declined" in view["meta"]["error"]
    assert harness.scheduler.due(harness.clock.now + __import__("datetime").timedelta(days=1)) == []


def test_duplicate_retry_task_runs_the_step_once(harness: Harness) -> None:
    harness.create("flaky", "f1", {"fail_times": 1})
    (task,) = harness.scheduler.tasks.values()
    assert task.payload.kind is TaskKind.RETRY
    assert harness.service.run_task(task.payload) == "rescheduled"  # delivered before it is due
    harness.clock.now = task.eta
    assert harness.service.run_task(task.payload) == "applied"
    assert harness.service.run_task(task.payload) == "stale"
    assert CALLS["charge"] == 2


def test_resume_past_the_budget_continues_in_a_task(harness: Harness) -> None:
    harness.service.moves_per_request = 3
    view = harness.create("counter", "c1", {"target": 10})
    assert view["meta"]["status"] == "Resuming" and 0 < view["state"]["n"] < 10
    harness.run_due()
    view = harness.get("counter", "c1")
    assert view["meta"]["status"] == "Finished" and view["state"]["n"] == 10


def test_resume_past_the_time_budget_continues_in_a_task(harness: Harness) -> None:
    harness.service.seconds_per_request = 0  # out of time after the first move
    view = harness.create("counter", "c1", {"target": 5})
    assert view["meta"]["status"] == "Resuming" and view["state"]["n"] == 0
    assert [t.payload.kind for t in harness.scheduler.tasks.values()] == [TaskKind.RESUME]
    harness.run_due()
    view = harness.get("counter", "c1")
    assert view["meta"]["status"] == "Finished" and view["state"]["n"] == 5


def test_checkpoint_every_step_writes_once_per_step(harness: Harness) -> None:
    writes = harness.store.writes
    view = harness.create("checkpointed", "c1", {"target": 4})
    assert view["meta"]["status"] == "Finished" and view["state"]["n"] == 4
    # one commit per move: the first walk to the first step, then one per step
    assert harness.store.writes - writes == 5


def test_default_mode_writes_once_per_request(harness: Harness) -> None:
    writes, reads = harness.store.writes, harness.store.reads
    harness.create("counter", "c1", {"target": 50})
    assert (harness.store.writes - writes, harness.store.reads - reads) == (1, 1)


def test_ninety_day_timer_chains_tasks(harness: Harness) -> None:
    harness.create("long", "l1")
    harness.advance(89 * 24 * 3600)
    assert harness.get("long", "l1")["state"]["outcome"] == ""
    rescheduled = [o for _, o in harness.outcomes if o == "rescheduled"]
    assert len(rescheduled) == 2  # hops at ~30 and ~60 days
    harness.advance(24 * 3600)
    view = harness.get("long", "l1")
    assert view["state"]["outcome"] == "expired" and view["meta"]["status"] == "Finished"


def test_timer_after_its_wait_was_handled_is_stale(harness: Harness) -> None:
    harness.create("long", "l1")
    (timer,) = harness.scheduler.tasks.values()
    harness.send("long", "l1", "reply")
    assert timer.name in harness.scheduler.cancelled
    before = harness.get("long", "l1")
    late = timer.payload.model_copy(update={"due": None})
    assert harness.service.run_task(late) == "stale"
    assert harness.get("long", "l1") == before


def test_timeout_cannot_be_fired_over_http(harness: Harness) -> None:
    harness.create("long", "l1")
    with pytest.raises(UnknownEvent):
        harness.send("long", "l1", "expired")


def test_idempotency_key_applies_once_and_replays(harness: Harness) -> None:
    harness.create("flaky", "f1", {"fail_times": 0})
    first, replayed = harness.service.send("flaky", "f1", "go", None, idempotency_key="k")
    again, replayed_again = harness.service.send("flaky", "f1", "go", None, idempotency_key="k")
    assert (first, replayed, again, replayed_again) == (None, False, None, True)
    assert CALLS["go"] == 1


def test_idempotency_key_reused_for_another_event(harness: Harness) -> None:
    harness.create("long", "l1")
    harness.service.send("long", "l1", "reply", None, idempotency_key="k")
    harness.create("flaky", "f1", {"fail_times": 0})
    harness.service.send("flaky", "f1", "go", None, idempotency_key="k2")
    with pytest.raises(IdempotencyKeyReused):
        harness.service.send("flaky", "f1", "other", None, idempotency_key="k2")


def test_create_twice_and_missing_instance(harness: Harness) -> None:
    harness.create("long", "l1")
    before = harness.get("long", "l1")
    with pytest.raises(InstanceExists):
        harness.create("long", "l1", {"outcome": "x"})
    assert harness.get("long", "l1") == before
    with pytest.raises(InstanceNotFound):
        harness.send("long", "nope", "reply")


def test_long_timer_chain_stops_once_its_wait_is_over(harness: Harness) -> None:
    harness.create("long", "l1")
    harness.advance(31 * 24 * 3600)  # the first hop re-scheduled itself
    assert [o for _, o in harness.outcomes] == ["rescheduled"]
    harness.send("long", "l1", "reply")
    harness.advance(60 * 24 * 3600)
    assert [o for _, o in harness.outcomes] == ["rescheduled", "stale"]
    assert harness.scheduler.tasks == {}
    assert harness.get("long", "l1")["state"]["outcome"] == "replied"


class Hoarder(Workflow):
    """Stores whatever it is sent."""

    blobs: list[str] = []

    def definition(self) -> Section:
        return S(For("forever", True, Wait("inbox", OnEvent("store", self.store))))

    def store(self, blob: str) -> int:
        self.blobs.append(blob)
        return len(self.blobs)


def test_an_instance_cannot_outgrow_a_document() -> None:
    reg = Registry()
    reg.add("hoarder", Hoarder)
    h = Harness(reg)
    h.create("hoarder", "h1")
    for _ in range(8):
        h.send("hoarder", "h1", "store", "x" * 100_000)
    before = h.get("hoarder", "h1")
    with pytest.raises(InstanceTooLarge):
        h.send("hoarder", "h1", "store", "x" * 200_000)
    assert h.get("hoarder", "h1") == before


class Echo(Workflow):
    """Answers with what it is sent, keeping only a count."""

    count: int = 0

    def definition(self) -> Section:
        return S(For("forever", True, Wait("inbox", OnEvent("echo", self.echo))))

    def echo(self, blob: str) -> str:
        self.count += 1
        return blob


def test_kept_responses_make_way_so_the_document_stays_small() -> None:
    reg = Registry()
    reg.add("echo", Echo)
    h = Harness(reg)
    h.create("echo", "e1")
    for i in range(15):
        h.service.send("echo", "e1", "echo", f"{i:02d}" * 50_000, idempotency_key=f"k{i}")
    doc = h.store.get("echo", "e1")
    assert doc is not None and doc.size() <= MAX_DOCUMENT_BYTES
    assert [r.key for r in doc.idempotency] == [f"k{i}" for i in range(7, 15)]
    replay = h.service.send("echo", "e1", "echo", "14" * 50_000, idempotency_key="k14")
    assert replay == ("14" * 50_000, True) and h.get("echo", "e1")["state"]["count"] == 15


def test_a_reused_key_with_another_input_is_refused() -> None:
    reg = Registry()
    reg.add("echo", Echo)
    h = Harness(reg)
    h.create("echo", "e2")
    h.service.send("echo", "e2", "echo", "first", idempotency_key="k")
    before = h.get("echo", "e2")
    with pytest.raises(IdempotencyKeyReused):
        h.service.send("echo", "e2", "echo", "second", idempotency_key="k")
    assert h.get("echo", "e2") == before


def test_an_instance_id_outside_the_alphabet_is_refused(harness: Harness) -> None:
    for bad in ("order 1", "o1\n", "", "-o1", "x" * 101):
        with pytest.raises(InvalidName):
            harness.create("counter", bad)
    assert harness.store.writes == 0
    assert not is_name("o1\n") and is_name("o1") and is_name("A.b-c_1")


def test_a_response_kept_before_fingerprints_still_replays() -> None:
    reg = Registry()
    reg.add("echo", Echo)
    h = Harness(reg)
    h.create("echo", "e3")
    h.service.send("echo", "e3", "echo", "first", idempotency_key="old")
    doc = h.store.get("echo", "e3")
    assert doc is not None
    doc.idempotency[0].request = ""  # as stored by the earlier release
    h.store._docs[("echo", "e3")] = doc.model_dump_json()
    assert h.service.send("echo", "e3", "echo", "first", idempotency_key="old") == ("first", True)
    assert h.get("echo", "e3")["state"]["count"] == 1


class Aliased(Workflow):
    user_name: str = Field("", alias="userName")

    def definition(self) -> Section:
        return S(Wait("w", OnEvent("go", lambda: None)))


class Open(Workflow):
    model_config = ConfigDict(extra="allow")

    def definition(self) -> Section:
        return S(Wait("w", OnEvent("go", lambda: None)))


def test_initial_data_may_use_aliases_and_models_that_allow_extras() -> None:
    reg = Registry()
    reg.add("aliased", Aliased)
    reg.add("open", Open)
    h = Harness(reg)
    assert h.create("aliased", "a1", {"userName": "ann"})["state"]["user_name"] == "ann"
    assert h.create("open", "o1", {"anything": 1})["state"]["anything"] == 1
    with pytest.raises(InvalidData):
        h.create("aliased", "a2", {"user": "typo"})
    for not_an_object in (5, [[1]], "x"):
        with pytest.raises(InvalidData):
            h.service.create("aliased", "a3", not_an_object)  # type: ignore[arg-type]
    assert h.store.get("aliased", "a2") is None and h.store.get("aliased", "a3") is None
