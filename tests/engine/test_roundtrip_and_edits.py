"""State and data survive JSON between every call; definitions can be edited in flight."""

from __future__ import annotations

from typing import Any

from engine import (
    For,
    OnEvent,
    S,
    Section,
    State,
    Step,
    ThreadStatus,
    Wait,
    Workflow,
    WorkflowStatus,
    handle_event,
    new_state,
    resume,
)


class Approval(Workflow):
    reviews: int = 0
    log: list[str] = []
    meta: dict[str, list[int]] = {}

    def definition(self) -> Section:
        return S(
            Step("start", lambda: self.log.append("start")),
            For(
                "reviews",
                self.reviews < 2,
                Wait("review", OnEvent("approve", self.approve)),
                Step("count", lambda: self.log.append(f"count {self.reviews}")),
            ),
        )

    def approve(self) -> int:
        self.reviews += 1
        self.meta.setdefault("approvals", []).append(self.reviews)
        return self.reviews


def test_json_round_trip_between_every_call(drive: Any) -> None:
    d = drive(Approval())
    d.resume()
    assert State.model_validate_json(d.state).model_dump_json() == d.state  # lossless
    assert d.event("approve") == 1
    assert d.event("approve") == 2
    assert d.st.status == "Finished"
    assert d.wf.log == ["start", "count 1", "count 2"]
    assert d.wf.meta == {"approvals": [1, 2]}


class ApprovalV2(Approval):
    """The next deploy: a step added before the position instances sit on, and one after."""

    def definition(self) -> Section:
        return S(
            Step("start", lambda: self.log.append("start")),
            Step("audit", lambda: self.log.append("audit")),  # new, before the loop
            For(
                "reviews",
                self.reviews < 2,
                Step("notify", lambda: self.log.append("notify")),  # new, inside the loop
                Wait("review", OnEvent("approve", self.approve)),
                Step("count", lambda: self.log.append(f"count {self.reviews}")),
            ),
            Step("archive", lambda: self.log.append("archive")),  # new, after
        )


def test_editing_the_definition_between_calls(drive: Any) -> None:
    d = drive(Approval())
    d.resume()
    assert d.st.threads[0].cur == "review"
    # Deploy v2: the instance continues by name; new steps before its position do not run.
    wf, state = ApprovalV2.model_validate_json(d.data), State.model_validate_json(d.state)
    handle_event(wf, state, "approve", None)
    resume(wf, state)
    assert wf.log == ["start", "count 1", "notify"]
    handle_event(wf, state, "approve", None)
    resume(wf, state)
    assert wf.log == ["start", "count 1", "notify", "count 2", "archive"]
    assert state.status == "Finished"


def test_a_status_assigned_as_text_becomes_its_enum_member() -> None:
    state = new_state("s1", "w")
    state.status = "Finished"  # type: ignore[assignment]
    assert state.status is WorkflowStatus.FINISHED
    state.threads[0].status = "WaitingEvent"  # type: ignore[assignment]
    assert state.threads[0].status is ThreadStatus.WAITING_EVENT
