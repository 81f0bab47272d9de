"""A failed step keeps to its backoff and retry policy, whatever else the instance receives:
events for other threads move those threads, not the failed step."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import pytest

from engine import (
    For,
    Go,
    OnEvent,
    S,
    Section,
    Step,
    Wait,
    WaitFor,
    Workflow,
    handle_event,
    new_state,
    resume,
)
from engine.errors import StepFailed
from engine.registry import Registry, RetryPolicy
from engine.state import WorkflowStatus
from engine.testing import Harness

CALLS: Counter[str] = Counter()


class Busy(Workflow):
    """The main thread charges a card that keeps failing; a side thread takes notes."""

    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=2, initial_backoff=60)
    notes: list[str] = []
    fail: bool = True

    def definition(self) -> Section:
        return S(
            Go(
                "notes",
                S(
                    Wait("inbox", OnEvent("note", self.note)),
                    Wait("more", OnEvent("note2", self.note)),
                ),
            ),
            Step("charge", self.charge),
        )

    def charge(self) -> None:
        CALLS["charge"] += 1
        if self.fail:
            raise RuntimeError("card declined")

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.fixture
def h() -> Harness:
    CALLS.clear()
    reg = Registry()
    reg.add("busy", Busy)
    return Harness(reg)


def test_engine_holds_failed_steps_only_when_asked() -> None:
    CALLS.clear()
    wf = Busy()
    state = new_state("b0", wf)
    with pytest.raises(StepFailed):
        resume(wf, state)
    handle_event(wf, state, "note", "hi")
    resume(wf, state, hold_failed=True)
    assert CALLS["charge"] == 1 and wf.notes == ["hi"]
    assert state.status is WorkflowStatus.FAILED and "card declined" in state.error
    with pytest.raises(StepFailed):
        resume(wf, state)  # the default: the next resume runs it again
    assert CALLS["charge"] == 2


def test_an_event_during_the_backoff_does_not_run_the_failed_step(h: Harness) -> None:
    view = h.create("busy", "b1")
    assert CALLS["charge"] == 1 and view["meta"]["status"] == "Resuming"
    h.send("busy", "b1", "note", "during backoff")
    assert CALLS["charge"] == 1
    view = h.get("busy", "b1")
    assert view["meta"]["status"] == "Resuming" and "card declined" in view["meta"]["error"]
    assert view["state"]["notes"] == ["during backoff"]
    h.advance(59)
    assert CALLS["charge"] == 1
    h.advance(1)  # the retry task: second and last attempt
    assert CALLS["charge"] == 2
    assert h.get("busy", "b1")["meta"]["status"] == "Failed"


def test_an_event_on_a_failed_instance_does_not_exceed_the_policy(h: Harness) -> None:
    h.create("busy", "b2")
    h.advance(3600)
    assert CALLS["charge"] == 2 and h.get("busy", "b2")["meta"]["status"] == "Failed"
    h.send("busy", "b2", "note", "still listening")
    view = h.get("busy", "b2")
    assert CALLS["charge"] == 2
    assert view["meta"]["status"] == "Failed" and "card declined" in view["meta"]["error"]
    assert view["state"]["notes"] == ["still listening"]


class TwoFailing(Workflow):
    """Two threads with failing steps under different policies."""

    step_retry: ClassVar[dict[str, RetryPolicy]] = {
        "sa": RetryPolicy(max_attempts=5, initial_backoff=1),
        "sb": RetryPolicy(max_attempts=1),
    }

    def definition(self) -> Section:
        return S(
            Go("a", S(Wait("wa", OnEvent("go_a", lambda: None)), Step("sa", self.sa))),
            Go("b", S(Step("sb", self.sb))),
            Wait("end", OnEvent("fin", lambda: None)),
        )

    def sa(self) -> None:
        CALLS["sa"] += 1
        if CALLS["sa"] == 1:
            raise RuntimeError("sa fails once")

    def sb(self) -> None:
        CALLS["sb"] += 1
        raise RuntimeError("sb fails")


def test_a_retry_task_runs_only_its_own_thread(h: Harness) -> None:
    h.service.registry.add("two", TwoFailing)
    h.create("two", "t1")
    assert h.get("two", "t1")["meta"]["status"] == "Failed"  # sb is past its policy at once
    h.send("two", "t1", "go_a")
    h.advance(3600)
    assert (CALLS["sa"], CALLS["sb"]) == (2, 1)  # sa retried; sb never ran again
    view = h.get("two", "t1")
    assert view["meta"]["status"] == "Failed" and "sb fails" in view["meta"]["error"]
    assert [(t["id"], t["attempts"]) for t in view["meta"]["threads"]] == [("_main", 0), ("b", 1)]


class SideFlaky(Workflow):
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=5, initial_backoff=10)
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Go("side", S(Step("flaky", self.flaky))),
            *[Step(f"main {i}", lambda: None) for i in range(6)],
            Wait("end", OnEvent("fin", lambda: None)),
        )

    def flaky(self) -> None:
        CALLS["flaky"] += 1
        if CALLS["flaky"] == 1:
            raise RuntimeError("first time fails")


def test_a_retry_runs_first_whatever_the_budget_and_others_continue(h: Harness) -> None:
    h.service.registry.add("side", SideFlaky)
    h.service.moves_per_request = 2
    h.create("side", "s1")
    h.advance(3600)
    view = h.get("side", "s1")
    assert CALLS["flaky"] == 2
    assert view["meta"]["status"] == "Waiting" and view["meta"]["error"] == ""
    assert [(t["id"], t["cur"]) for t in view["meta"]["threads"]] == [("_main", "end")]
    assert h.scheduler.tasks == {}


class ExhaustedSide(SideFlaky):
    step_retry: ClassVar[dict[str, RetryPolicy]] = {"flaky": RetryPolicy(max_attempts=1)}

    def flaky(self) -> None:
        CALLS["flaky"] += 1
        raise RuntimeError("always fails")


def test_other_threads_go_on_after_a_step_fails_for_good(h: Harness) -> None:
    h.service.registry.add("exhausted", ExhaustedSide)
    h.service.moves_per_request = 2
    h.create("exhausted", "x1")
    h.advance(3600)
    view = h.get("exhausted", "x1")
    assert CALLS["flaky"] == 1 and view["meta"]["status"] == "Failed"
    main = view["meta"]["threads"][0]
    assert (main["id"], main["cur"], main["status"]) == ("_main", "end", "WaitingEvent")


class FlakyCondition(Workflow):
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=5, initial_backoff=10)
    ready: bool = False
    done: bool = False

    def definition(self) -> Section:
        return S(
            Go("side", S(WaitFor("cond", self.ready, self.handler), Step("after", self.after))),
            For("loop", True, Wait("w", OnEvent("on", self.on), OnEvent("off", self.off))),
        )

    def on(self) -> None:
        self.ready = True

    def off(self) -> None:
        self.ready = False

    def after(self) -> None:
        self.done = True

    def handler(self) -> None:
        CALLS["handler"] += 1
        if CALLS["handler"] == 1:
            raise RuntimeError("handler fails once")


def test_a_waitfor_whose_condition_went_away_before_its_retry_waits_afresh(h: Harness) -> None:
    h.service.registry.add("cond", FlakyCondition)
    h.create("cond", "c1")
    h.send("cond", "c1", "on")  # the handler fails
    h.send("cond", "c1", "off")
    h.advance(60)  # the retry finds the condition false: the thread waits again, no failure
    side = h.get("cond", "c1")["meta"]["threads"][1]
    assert (side["status"], side["attempts"]) == ("WaitingCondition", 0)
    h.send("cond", "c1", "on")
    assert h.get("cond", "c1")["state"]["done"] is True and CALLS["handler"] == 2


TIMES: dict[str, list[float]] = {}


def _stamp(h: Harness, name: str) -> int:
    TIMES.setdefault(name, []).append((h.clock.now - START[0]).total_seconds())
    return len(TIMES[name])


START: list[Any] = []
HARNESS: list[Harness] = []


@pytest.fixture
def timed(h: Harness) -> Harness:
    TIMES.clear()
    START[:] = [h.clock.now]
    HARNESS[:] = [h]
    return h


class Chain(Workflow):
    """Step a fails once; step b, right after it, always fails."""

    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=3, initial_backoff=10)

    def definition(self) -> Section:
        return S(Step("a", self.a), Step("b", self.b), Wait("end", OnEvent("fin", lambda: None)))

    def a(self) -> None:
        if _stamp(HARNESS[0], "a") == 1:
            raise RuntimeError("a once")

    def b(self) -> None:
        _stamp(HARNESS[0], "b")
        raise RuntimeError("b always")


def test_a_step_failing_in_its_neighbours_retry_request_gets_its_own_retries(
    timed: Harness,
) -> None:
    timed.service.registry.add("chain", Chain)
    timed.create("chain", "c1")
    timed.advance(3600)
    assert TIMES == {"a": [0, 10], "b": [10, 20, 40]}  # backoff 10, 20; three attempts
    view = timed.get("chain", "c1")
    assert view["meta"]["status"] == "Failed" and "b always" in view["meta"]["error"]


class TwiceFailingCondition(Workflow):
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=4, initial_backoff=10)

    def definition(self) -> Section:
        return S(WaitFor("cond", True, self.handler))

    def handler(self) -> None:
        if _stamp(HARNESS[0], "handler") <= 3:
            raise RuntimeError("handler fails")


def test_a_waitfor_handler_gets_every_retry_its_policy_allows(timed: Harness) -> None:
    timed.service.registry.add("twice", TwiceFailingCondition)
    timed.create("twice", "w1")
    timed.advance(3600)
    assert TIMES == {"handler": [0, 10, 30, 70]}
    assert timed.get("twice", "w1")["meta"]["status"] == "Finished"


class LoopFailing(Workflow):
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(
        max_attempts=5, initial_backoff=100, max_backoff=100
    )

    def definition(self) -> Section:
        return S(For("loop", True, Step("a", self.a), Wait("w", OnEvent("next", lambda: None))))

    def a(self) -> None:
        if _stamp(HARNESS[0], "a") in (1, 3):
            raise RuntimeError("a fails")


def test_an_old_retry_task_never_retries_a_newer_failure(timed: Harness) -> None:
    timed.service.registry.add("loop", LoopFailing)
    timed.create("loop", "l1")
    (first_retry,) = timed.scheduler.tasks.values()
    timed.advance(100)  # the retry succeeds; the loop waits for "next"
    timed.clock.advance(1)
    timed.send("loop", "l1", "next")  # the next pass fails again, with attempt 1 again
    assert timed.service.run_task(first_retry.payload) == "stale"  # delivered again, late
    timed.advance(3600)
    assert TIMES == {"a": [0, 100, 101, 201]}


class SlowRetry(Workflow):
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(
        max_attempts=2, initial_backoff=40 * 86400, max_backoff=40 * 86400
    )

    def definition(self) -> Section:
        return S(Step("a", self.a), Wait("end", OnEvent("fin", lambda: None)))

    def a(self) -> None:
        if _stamp(HARNESS[0], "a") == 1:
            raise RuntimeError("later")


def test_a_backoff_beyond_the_task_horizon_hops_and_keeps_its_time(timed: Harness) -> None:
    timed.service.registry.add("slow", SlowRetry)
    timed.create("slow", "r1")
    timed.advance(50 * 86400)
    assert TIMES == {"a": [0, 40 * 86400]}
    assert "rescheduled" in [outcome for _, outcome in timed.outcomes]


class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no text")


class Odd(Workflow):
    def definition(self) -> Section:
        return S(Step("a", self.a), Wait("end", OnEvent("fin", lambda: None)))

    def a(self) -> None:
        raise Unprintable


def test_an_exception_without_readable_text_is_still_a_failed_step(h: Harness) -> None:
    h.service.registry.add("odd", Odd)
    view = h.create("odd", "o1")
    assert view["meta"]["threads"][0]["error"] == "Unprintable"
