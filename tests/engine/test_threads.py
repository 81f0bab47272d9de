"""Threads: interleaving, waits and conditions across threads, nested ``Go`` bodies per id."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    For,
    Go,
    OnEvent,
    S,
    Section,
    Step,
    StepFailed,
    Wait,
    WaitFor,
    Workflow,
    new_state,
    resume,
)
from engine.errors import ThreadExists


class Interleave(Workflow):
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Go("a", S(Step("a1", lambda: self.log.append("a1")), Step("a2", self.a2))),
            Go("b", S(Step("b1", lambda: self.log.append("b1")), Step("b2", self.b2))),
            Wait("end", OnEvent("end", lambda: None)),
        )

    def a2(self) -> None:
        self.log.append("a2")

    def b2(self) -> None:
        self.log.append("b2")


def test_threads_take_turns_one_move_each(drive: Any) -> None:
    d = drive(Interleave())
    st = d.resume()
    assert d.wf.log == ["a1", "b1", "a2", "b2"]
    assert [t.id for t in st.threads] == ["_main"] and st.status == "Waiting"


class Watch(Workflow):
    flag: bool = False
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Go("worker", S(Step("set", self.set), Step("later", lambda: self.log.append("b")))),
            WaitFor("flag set", self.flag, lambda: self.log.append("seen")),
            Step("after", lambda: self.log.append("after")),
        )

    def set(self) -> None:
        self.flag = True
        self.log.append("a")


def test_a_condition_is_checked_after_every_move_of_any_thread(drive: Any) -> None:
    d = drive(Watch())
    assert d.resume().status == "Finished"
    # "seen" comes right after the move that made the condition true, before "b".
    assert d.wf.log == ["a", "seen", "b", "after"]


class FlakyJoin(Workflow):
    ready: bool = True
    fail: bool = True
    calls: int = 0

    def definition(self) -> Section:
        return S(WaitFor("ready", self.ready, self.join))

    def join(self) -> None:
        if self.fail:
            raise RuntimeError("not yet")
        self.calls += 1


def test_a_failing_waitfor_handler_is_a_failed_step_and_is_retried() -> None:
    wf = FlakyJoin()
    state = new_state("j", wf)
    with pytest.raises(StepFailed) as err:
        resume(wf, state)
    assert err.value.step == "ready"
    th = state.threads[0]
    assert (th.status, th.attempts, state.status) == ("WaitingCondition", 1, "Failed")
    wf.fail = False
    resume(wf, state)
    assert wf.calls == 1 and state.status == "Finished"


class Fleet(Workflow):
    """Nested ``Go`` bodies that depend on their own thread ids."""

    orders: list[str] = ["x", "y"]
    i: int = 0
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            For(
                "spawn",
                self.i < len(self.orders),
                Go("order", self.order).WithID(lambda: f"order-{self.orders[self.i]}"),
                Step("next", self.next),
            ),
            WaitFor("all tracked", len(self.log) == 4),
        )

    def next(self) -> None:
        self.i += 1

    def order(self, tid: str) -> Section:
        return S(
            Step("pack", lambda: self.log.append(f"pack {tid}")),
            Go("track", lambda inner: self.track(tid, inner)).WithID(lambda: f"track-{tid}"),
            Wait("delivered", OnEvent("delivered", lambda: None)),
        )

    def track(self, order: str, tid: str) -> Section:
        return S(
            Wait("scan", OnEvent("scan", lambda: None)),
            Step("tracked", lambda: self.log.append(f"{tid} of {order}")),
        )


def test_nested_threads_rebuild_each_body_with_its_own_id(drive: Any) -> None:
    d = drive(Fleet())
    st = d.resume()
    assert sorted(t.id for t in st.threads) == [
        "_main",
        "order-x",
        "order-y",
        "track-order-x",
        "track-order-y",
    ]
    assert {t.id: t.parents for t in st.threads}["track-order-y"] == ["order-y"]
    d.event("scan", thread_id="track-order-y")
    d.event("scan", thread_id="track-order-x")
    assert d.wf.log == [
        "pack order-x",
        "pack order-y",
        "track-order-y of order-y",
        "track-order-x of order-x",
    ]
    assert d.st.status == "Finished"


class Duplicate(Workflow):
    i: int = 0

    def definition(self) -> Section:
        return S(
            For(
                "spawn",
                self.i < 2,
                Go("helper", Wait("hold", OnEvent("go", lambda: None))),
                Step("next", self.next),
            )
        )

    def next(self) -> None:
        self.i += 1


def test_starting_a_running_thread_id_again_is_an_error() -> None:
    wf = Duplicate()
    with pytest.raises(ThreadExists, match="WithID"):
        resume(wf, new_state("d", wf))
