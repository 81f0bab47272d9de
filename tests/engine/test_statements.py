"""Every statement of the language, driven with a JSON round trip between calls."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from engine import (
    Break,
    CallbackRequest,
    Case,
    Continue,
    Default,
    For,
    Go,
    If,
    On,
    OnEvent,
    Return,
    S,
    Section,
    Step,
    Switch,
    Timeout,
    Wait,
    WaitFor,
    Workflow,
)


class Steps(Workflow):
    log: list[str] = []

    def definition(self) -> Section:
        return S(Step("a", lambda: self.log.append("a")), Step("b", lambda: self.log.append("b")))


def test_steps_run_in_order_and_finish(drive: Any) -> None:
    d = drive(Steps())
    st = d.resume()
    assert st.status == "Finished" and st.threads == []
    assert d.wf.log == ["a", "b"]


class Branches(Workflow):
    x: int = 0
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            If(self.x == 1, "one", Step("s1", lambda: self.log.append("one")))
            .ElseIf(self.x == 2, "two", Step("s2", lambda: self.log.append("two")))
            .Else("other", Step("s3", lambda: self.log.append("other"))),
            Switch(
                Case(self.x == 1, "c1", Step("k1", lambda: self.log.append("case1"))),
                Case(self.x >= 1, "c2", Step("k2", lambda: self.log.append("case2"))),
                Default("dflt", Step("k3", lambda: self.log.append("default"))),
            ),
        )


def test_if_elseif_else_and_switch_take_the_first_true_branch(drive: Any) -> None:
    for x, expected in [(1, ["one", "case1"]), (2, ["two", "case2"]), (0, ["other", "default"])]:
        d = drive(Branches(x=x))
        d.resume()
        assert d.wf.log == expected


class Loops(Workflow):
    i: int = 0
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            For(
                "loop",
                self.i < 10,
                Step("inc", self.inc),
                If(self.i % 2 == 1, "odd", Continue()),
                If(self.i >= 6, "enough", Break()),
                Step("even", lambda: self.log.append(f"even {self.i}")),
            ),
            Step("after", lambda: self.log.append("after")),
        )

    def inc(self) -> None:
        self.i += 1


def test_for_with_continue_and_break(drive: Any) -> None:
    d = drive(Loops())
    assert d.resume().status == "Finished"
    # Continue skips the rest of the body on odd i; Break leaves at i == 6.
    assert d.wf.log == ["even 2", "even 4", "after"]
    assert d.wf.i == 6


class Returns(Workflow):
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Step("first", lambda: self.log.append("first")),
            If(True, "stop here", Return()),
            Step("never", lambda: self.log.append("never")),
        )


def test_return_on_the_main_thread_finishes(drive: Any) -> None:
    d = drive(Returns())
    assert d.resume().status == "Finished"
    assert d.wf.log == ["first"]


class Item(BaseModel):
    name: str
    qty: int


class Events(Workflow):
    items: list[Item] = []
    done: bool = False

    def definition(self) -> Section:
        return S(
            For(
                "shopping",
                not self.done,
                Wait(
                    "cart",
                    OnEvent("add", self.add),
                    OnEvent("finish", self.finish, Step("closing", self.close)),
                ),
            ),
        )

    def add(self, item: Item) -> int:
        self.items.append(item)
        return len(self.items)

    def finish(self) -> str:
        return "ok"

    def close(self) -> None:
        self.done = True


def test_wait_with_typed_events_in_a_loop(drive: Any) -> None:
    d = drive(Events())
    st = d.resume()
    assert st.status == "Waiting"
    assert [w.name for w in st.threads[0].waits] == ["add", "finish"]
    assert d.event("add", {"name": "tea", "qty": 2}) == 1
    assert d.event("add", {"name": "milk", "qty": 1}) == 2
    assert d.event("finish") == "ok"
    assert d.st.status == "Finished"
    assert [i.name for i in d.wf.items] == ["tea", "milk"]


class Recorder:
    """A custom handler that records its calls."""

    calls: list[tuple[str, Any]] = []

    def setup(self, ctx: Any, req: CallbackRequest) -> str:
        Recorder.calls.append(("setup", req.name))
        return f"token-{req.pc}"

    def handle(self, ctx: Any, req: CallbackRequest, input: Any) -> Any:
        Recorder.calls.append(("handle", req.setup_data))
        return {"echo": input}

    def teardown(self, ctx: Any, req: CallbackRequest, handled: bool) -> None:
        Recorder.calls.append(("teardown", (req.name, handled)))


class Hooks:
    """A runtime context with timer hooks."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[str, float]] = []
        self.cancelled: list[tuple[str, bool]] = []

    def schedule_timeout(self, req: CallbackRequest, seconds: float) -> str:
        self.scheduled.append((req.name, seconds))
        return f"timer-{req.pc}"

    def cancel_timeout(self, req: CallbackRequest, handled: bool) -> None:
        self.cancelled.append((req.setup_data, handled))


class Custom(Workflow):
    outcome: str = ""

    def definition(self) -> Section:
        return S(
            Wait(
                "approval",
                On("signal", Recorder(), Step("got", lambda: self.mark("signal"))),
                Timeout("late", 60, Step("expired", lambda: self.mark("late"))),
            )
        )

    def mark(self, how: str) -> None:
        self.outcome = how


def test_custom_handler_and_timeout_hooks(drive: Any) -> None:
    Recorder.calls = []
    hooks = Hooks()
    d = drive(Custom(), ctx=hooks)
    d.resume()
    assert Recorder.calls == [("setup", "signal")]
    assert hooks.scheduled == [("late", 60)]
    waits = {w.name: w.setup_data for w in d.st.threads[0].waits}
    pc = d.st.threads[0].pc
    assert waits == {"signal": f"token-{pc}", "late": f"timer-{pc}"}
    assert d.event("signal", 5) == {"echo": 5}
    assert Recorder.calls[1:] == [("handle", f"token-{pc}"), ("teardown", ("signal", True))]
    assert hooks.cancelled == [(f"timer-{pc}", False)]
    assert d.wf.outcome == "signal" and d.st.status == "Finished"


def test_timeout_case_fires_as_an_event(drive: Any) -> None:
    hooks = Hooks()
    d = drive(Custom(), ctx=hooks)
    d.resume()
    pc = d.st.threads[0].pc
    d.event("late", thread_id="_main", pc=pc)
    assert d.wf.outcome == "late" and d.st.status == "Finished"
    assert hooks.cancelled == [(f"timer-{pc}", True)]  # told that its own event ended the wait


class Parallel(Workflow):
    orders: list[str] = ["a", "b", "c"]
    i: int = 0
    shipped: list[str] = []
    ready: bool = False
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            For(
                "spawn",
                self.i < len(self.orders),
                Go("ship", self.ship_one).WithID(lambda: f"ship-{self.orders[self.i]}"),
                Step("next", self.next),
            ),
            WaitFor("all shipped", len(self.shipped) == 3, lambda: self.log.append("all")),
            Step("done", lambda: self.log.append("done")),
        )

    def ship_one(self, thread_id: str) -> Section:
        order = thread_id.removeprefix("ship-")
        return S(Wait("shipment", OnEvent("shipped", lambda: self.shipped.append(order))))

    def next(self) -> None:
        self.i += 1


def test_threads_started_in_a_loop_wait_and_a_condition_joins_them(drive: Any) -> None:
    d = drive(Parallel())
    st = d.resume()
    assert st.status == "Waiting"
    assert sorted(t.id for t in st.threads) == ["_main", "ship-a", "ship-b", "ship-c"]
    assert [t.status for t in st.threads if t.id == "_main"] == ["WaitingCondition"]
    d.event("shipped", thread_id="ship-b")
    d.event("shipped", thread_id="ship-a")
    assert d.wf.log == []
    d.event("shipped", thread_id="ship-c")
    assert d.wf.shipped == ["b", "a", "c"]
    assert d.wf.log == ["all", "done"] and d.st.status == "Finished"


class ThreadReturn(Workflow):
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Go(
                "worker",
                S(Step("w1", lambda: self.log.append("w1")), Return(), Step("w2", self.bad)),
            ),
            Wait("hold", OnEvent("release", lambda: None)),
        )

    def bad(self) -> None:
        self.log.append("w2")


def test_return_in_a_thread_ends_only_that_thread(drive: Any) -> None:
    d = drive(ThreadReturn())
    st = d.resume()
    assert [t.id for t in st.threads] == ["_main"] and st.status == "Waiting"
    assert d.wf.log == ["w1"]
    d.event("release")
    assert d.st.status == "Finished"


class Nested(Workflow):
    rounds: int = 0
    inner: int = 0
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            For(
                "outer",
                self.rounds < 2,
                Step("reset inner", self.reset),
                For(
                    "inner loop",
                    self.inner < 2,
                    Wait("tick", OnEvent("tick", self.tick)),
                ),
                self.finish_round(),
            ),
        )

    def finish_round(self) -> Section:
        return S(Step("round done", self.round_done))

    def reset(self) -> None:
        self.inner = 0

    def tick(self) -> None:
        self.inner += 1
        self.log.append(f"tick {self.rounds}.{self.inner}")

    def round_done(self) -> None:
        self.rounds += 1


def test_nested_loops_with_waits_and_helper_sections(drive: Any) -> None:
    d = drive(Nested())
    d.resume()
    for _ in range(4):
        assert d.st.status == "Waiting"
        d.event("tick")
    assert d.st.status == "Finished"
    assert d.wf.log == ["tick 0.1", "tick 0.2", "tick 1.1", "tick 1.2"]
