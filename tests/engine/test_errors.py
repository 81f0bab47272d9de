"""Definition errors up front; rejected events change nothing; failing steps stay put."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, Field

from engine import (
    Break,
    Continue,
    For,
    Go,
    If,
    OnEvent,
    S,
    Section,
    Step,
    StepFailed,
    Wait,
    Workflow,
    WorkflowStatus,
    handle_event,
    new_state,
    resume,
    validate,
)
from engine.errors import (
    AmbiguousEvent,
    DefinitionError,
    EventNotAwaited,
    HandlerFailed,
    InvalidInput,
    StaleCallback,
    TooManyMoves,
    UnknownEvent,
    WorkflowError,
    WorkflowFinished,
)

noop: Callable[[], None] = lambda: None  # noqa: E731


@pytest.mark.parametrize(
    ("definition", "statement", "words"),
    [
        (S(Step("x", noop), Step("x", noop)), "x", "duplicate"),
        (S(Step("x", noop), If(True, "x", Step("y", noop))), "x", "duplicate"),
        (S(For("spin", True, If(True, "i", Continue()), Step("s", noop))), "spin", "stopping"),
        (S(For("idle", True, If(True, "maybe", Step("s", noop)))), "idle", "stopping"),
        (S(For("outer", True, For("inner", False, Step("s", noop)))), "outer", "stopping"),
        (S(Break()), "", "outside a loop"),
        (S(If(True, "lonely", Continue())), "lonely", "outside a loop"),
        (S(For("l", True, Go("g", S(Break())), Step("s", noop))), "g", "outside a loop"),
        (S(Wait("w")), "w", "at least one case"),
        (S(Wait("w", OnEvent("e", noop), OnEvent("e", noop))), "w", "duplicate event"),
        (S(Step("", noop)), "", "non-empty"),
        (S(Step("s", "not callable")), "s", "not callable"),  # type: ignore[arg-type]
        (S("just a string"), "", "not a statement"),  # type: ignore[arg-type]
    ],
)
def test_malformed_definitions_are_rejected_by_validation(
    definition: Section, statement: str, words: str
) -> None:
    with pytest.raises(DefinitionError) as err:
        validate(definition)
    assert err.value.statement == statement
    assert words in str(err.value)


def test_loops_that_always_stop_are_valid() -> None:
    validate(
        S(
            For("a", True, Step("s1", noop)),
            For("b", True, If(True, "x", Step("s2", noop)).Else("y", Break())),
            For("c", True, Wait("w", OnEvent("e", noop, Continue()))),
        )
    )


class Order(BaseModel):
    qty: int = Field(ge=1)


class Shop(Workflow):
    qty: int = 0
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Wait("first", OnEvent("order", self.order), OnEvent("boom", self.boom)),
            Go("helper", Wait("help", OnEvent("ping", noop))),
            Go("helper2", Wait("help2", OnEvent("pong", noop))),
            Wait("second", OnEvent("later", noop)),
        )

    def order(self, o: Order) -> int:
        self.qty += o.qty
        self.log.append("order")
        return self.qty

    def boom(self) -> None:
        self.log.append("half-done")
        self.qty = 99
        raise ValueError("no stock")


def fresh() -> tuple[Shop, Any]:
    wf = Shop()
    state = new_state("shop-1", wf)
    resume(wf, state)
    return wf, state


@pytest.mark.parametrize(
    ("event", "input", "kw", "error"),
    [
        ("nope", None, {}, UnknownEvent),
        ("later", None, {}, EventNotAwaited),
        ("order", {"qty": 0}, {}, InvalidInput),
        ("order", {"qty": "many"}, {}, InvalidInput),
        ("order", None, {}, InvalidInput),
        ("order", {"qty": 1}, {"pc": 12345}, StaleCallback),
        ("order", {"qty": 1}, {"thread_id": "helper"}, EventNotAwaited),
        ("boom", None, {}, HandlerFailed),
    ],
)
def test_rejected_events_change_neither_data_nor_state(
    event: str, input: Any, kw: dict[str, Any], error: type[WorkflowError]
) -> None:
    wf, state = fresh()
    data_before, state_before = wf.model_dump_json(), state.model_dump_json()
    with pytest.raises(error):
        handle_event(wf, state, event, input, **kw)
    assert wf.model_dump_json() == data_before
    assert state.model_dump_json() == state_before


def test_event_on_a_finished_workflow_changes_nothing() -> None:
    wf, state = fresh()
    state.status = WorkflowStatus.FINISHED
    before = (wf.model_dump_json(), state.model_dump_json())
    with pytest.raises(WorkflowFinished):
        handle_event(wf, state, "order", {"qty": 1})
    assert (wf.model_dump_json(), state.model_dump_json()) == before


class Twins(Workflow):
    def definition(self) -> Section:
        return S(
            Go("a", Wait("wa", OnEvent("go", noop))),
            Go("b", Wait("wb", OnEvent("go", noop))),
            Wait("main", OnEvent("end", noop)),
        )


def test_the_same_event_awaited_by_two_threads_needs_a_thread_id() -> None:
    wf = Twins()
    state = new_state("t", wf)
    resume(wf, state)
    with pytest.raises(AmbiguousEvent):
        handle_event(wf, state, "go", None)
    handle_event(wf, state, "go", None, thread_id="b")
    resume(wf, state)
    assert sorted(t.id for t in state.threads) == ["_main", "a"]


class Fragile(Workflow):
    attempts: int = 0
    fail: bool = True
    log: list[str] = []

    def definition(self) -> Section:
        return S(Step("before", lambda: self.log.append("before")), Step("risky", self.risky))

    def risky(self) -> None:
        self.attempts += 1
        self.log.append("risky")
        if self.fail:
            raise ConnectionError("gateway down")


def test_failing_step_stays_put_rolls_back_and_runs_again() -> None:
    calls = {"risky": 0}
    wf = Fragile()
    original = wf.risky

    def counted() -> None:
        calls["risky"] += 1
        original()

    object.__setattr__(wf, "risky", counted)
    state = new_state("f", wf)
    with pytest.raises(StepFailed) as err:
        resume(wf, state)
    assert (err.value.step, err.value.attempt) == ("risky", 1)
    assert "gateway down" in err.value.cause
    th = state.threads[0]
    assert (th.cur, th.status, th.attempts, state.status) == ("risky", "Executing", 1, "Failed")
    assert wf.attempts == 0 and wf.log == ["before"]  # the failed step's changes are undone
    with pytest.raises(StepFailed):
        resume(wf, state)
    assert calls["risky"] == 2 and state.threads[0].attempts == 2
    wf.fail = False
    resume(wf, state)
    assert calls["risky"] == 3 and state.status == "Finished"
    assert wf.log == ["before", "risky"]  # "before" ran once


class Forever(Workflow):
    n: int = 0

    def definition(self) -> Section:
        return S(For("forever", True, Step("tick", self.tick)))

    def tick(self) -> None:
        self.n += 1


def test_a_runaway_resume_is_an_error_not_a_hang() -> None:
    wf = Forever()
    state = new_state("r", wf)
    with pytest.raises(TooManyMoves) as info:
        resume(wf, state)
    assert 0 < wf.n <= 10_000
    assert state.status == "Failed" and state.error == info.value.message
