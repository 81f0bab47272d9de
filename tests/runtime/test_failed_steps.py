"""A failed step keeps to its backoff and retry policy, whatever else the instance receives:
events for other threads move those threads, not the failed step."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

import pytest

from engine import Go, OnEvent, S, Section, Step, Wait, Workflow, handle_event, new_state, resume
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
