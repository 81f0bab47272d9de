"""Waits: the handler life cycle, what ``handle_event`` changes, teardown of waits cut short."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from engine import (
    CallbackRequest,
    Go,
    On,
    OnEvent,
    S,
    Section,
    Step,
    Timeout,
    Wait,
    WaitStatus,
    Workflow,
    handle_event,
    new_state,
    resume,
)


class Counting:
    """A custom handler counting each call, per event."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def setup(self, ctx: Any, req: CallbackRequest) -> str:
        self.calls.append(("setup", req.name))
        return f"{req.thread_id}@{req.pc}"

    def handle(self, ctx: Any, req: CallbackRequest, input: Any) -> Any:
        self.calls.append(("handle", req.setup_data))
        return input * 2

    def teardown(self, ctx: Any, req: CallbackRequest, handled: bool) -> None:
        self.calls.append(("teardown", f"{req.name} handled={handled}"))


HANDLER = Counting()


class Gate(Workflow):
    opened: int = 0

    def definition(self) -> Section:
        return S(
            Wait(
                "gate",
                On("open", HANDLER, Step("count", self.count)),
                On("close", HANDLER),
            )
        )

    def count(self) -> None:
        self.opened += 1


def test_custom_handler_setup_handle_teardown_each_once(drive: Any) -> None:
    HANDLER.calls.clear()
    d = drive(Gate())
    d.resume()
    pc = d.st.threads[0].pc
    assert HANDLER.calls == [("setup", "open"), ("setup", "close")]
    assert d.event("open", 21) == 42
    assert HANDLER.calls[2:] == [
        ("handle", f"_main@{pc}"),
        ("teardown", "open handled=True"),
        ("teardown", "close handled=False"),
    ]
    assert d.wf.opened == 1 and d.st.status == "Finished"


class Note(BaseModel):
    text: str


class Reply(BaseModel):
    length: int


class Inbox(Workflow):
    notes: list[str] = []

    def definition(self) -> Section:
        return S(Wait("inbox", OnEvent("note", self.note)), Step("file", self.file))

    def note(self, n: Note) -> Reply:
        self.notes.append(n.text)
        return Reply(length=len(n.text))

    def file(self) -> None:
        self.notes.append("filed")


def test_handle_event_runs_the_handler_but_does_not_resume() -> None:
    wf = Inbox()
    state = new_state("i", wf)
    resume(wf, state)
    pc = state.pc
    out = handle_event(wf, state, "note", {"text": "hello"})
    assert out == Reply(length=5)  # typed input under postponed annotations
    th = state.threads[0]
    assert (state.status, th.status, th.case, state.pc) == ("Resuming", "Resuming", "note", pc + 1)
    assert [w.status for w in th.waits] == [WaitStatus.TEARDOWN] and th.waits[0].handled
    assert wf.notes == ["hello"]  # the step after the wait has not run
    resume(wf, state)
    assert wf.notes == ["hello", "filed"] and state.status == "Finished"


class Timers:
    def __init__(self) -> None:
        self.scheduled: list[str] = []
        self.cancelled: list[str] = []

    def schedule_timeout(self, req: CallbackRequest, seconds: float) -> str:
        self.scheduled.append(req.name)
        return f"task-{req.name}"

    def cancel_timeout(self, req: CallbackRequest, handled: bool) -> None:
        self.cancelled.append(req.setup_data)


class Race(Workflow):
    """The main thread ends in the same resume in which a thread began to wait."""

    def definition(self) -> Section:
        return S(
            Go("early", Wait("early wait", Timeout("early timer", 10))),
            Step("one", lambda: None),
            Step("two", lambda: None),
        )


def test_a_wait_never_set_up_is_not_torn_down() -> None:
    timers = Timers()
    wf = Race()
    state = new_state("r", wf)
    resume(wf, state, timers)
    assert state.status == "Finished" and state.threads == []
    assert timers.scheduled == []  # set-up happens when resume is done; it never came to that
    assert timers.cancelled == []


class Hold(Workflow):
    def definition(self) -> Section:
        return S(
            Go("early", Wait("early wait", Timeout("early timer", 10))),
            Wait("main", OnEvent("stop", lambda: None)),
        )


def test_waits_are_set_up_after_resume_and_torn_down_when_the_workflow_ends() -> None:
    timers = Timers()
    wf = Hold()
    state = new_state("h", wf)
    resume(wf, state, timers)
    assert timers.scheduled == ["early timer"] and timers.cancelled == []
    handle_event(wf, state, "stop", None, ctx=timers)
    resume(wf, state, timers)
    assert state.status == "Finished"
    assert timers.cancelled == ["task-early timer"]
