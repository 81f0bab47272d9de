"""Edge cases: failing custom handlers, data-independent validation, handler types."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from engine import (
    CallbackRequest,
    Case,
    Default,
    For,
    Go,
    If,
    On,
    OnEvent,
    S,
    Section,
    Step,
    Switch,
    Wait,
    Workflow,
    WorkflowError,
    describe,
    handle_event,
    new_state,
    resume,
)
from engine.errors import DefinitionError, InvalidInput, SetupFailed
from engine.state import WorkflowStatus


class Flaky:
    """A custom handler whose setup or teardown raises when told to."""

    def __init__(self, fail_setup: bool = False, fail_teardown: bool = False) -> None:
        self.fail_setup = fail_setup
        self.fail_teardown = fail_teardown
        self.teardowns = 0

    def setup(self, ctx: object, req: CallbackRequest) -> str:
        if self.fail_setup:
            raise RuntimeError("mail server down")
        return "ok"

    def handle(self, ctx: object, req: CallbackRequest, input: object) -> object:
        return None

    def teardown(self, ctx: object, req: CallbackRequest, handled: bool) -> None:
        self.teardowns += 1
        if self.fail_teardown:
            raise RuntimeError("cancel failed")


BELL = Flaky(fail_teardown=True)
BROKEN = Flaky(fail_setup=True)


class Bells(Workflow):
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Wait("ring", On("bell", BELL), On("other", BELL)),
            Step("after", lambda: self.log.append("after")),
        )


def test_a_failing_teardown_does_not_stop_the_workflow() -> None:
    wf = Bells()
    state = new_state("b1", wf)
    resume(wf, state)
    handle_event(wf, state, "bell", None)
    before = BELL.teardowns
    resume(wf, state)
    assert BELL.teardowns == before + 2  # both cases torn down, though both raised
    assert state.status is WorkflowStatus.FINISHED
    assert wf.log == ["after"]


class Broken(Workflow):
    def definition(self) -> Section:
        return S(Wait("ring", On("bell", BROKEN)))


def test_a_failing_setup_is_a_workflow_error_naming_the_wait() -> None:
    wf = Broken()
    state = new_state("b2", wf)
    with pytest.raises(SetupFailed) as info:
        resume(wf, state)
    assert info.value.details["wait"] == "ring"
    assert info.value.details["event"] == "bell"
    assert "mail server down" in info.value.message


class SwitchLoop(Workflow):
    mode: str = "a"

    def definition(self) -> Section:
        noop = lambda: None  # noqa: E731
        return S(For("loop", True, Switch(Case(self.mode == "a", "is a", Step("s", noop)))))


@pytest.mark.parametrize("mode", ["a", "b"])
def test_a_switch_without_default_may_fall_through_whatever_the_data(mode: str) -> None:
    with pytest.raises(DefinitionError) as info:
        new_state("s1", SwitchLoop(mode=mode))
    assert info.value.details["statement"] == "loop"


class SwitchDefaultLoop(Workflow):
    n: int = 0

    def definition(self) -> Section:
        return S(
            For(
                "loop",
                self.n < 2,
                Switch(
                    Case(self.n == 0, "first", Step("s0", self.inc)),
                    Default("rest", Step("s1", self.inc)),
                ),
            )
        )

    def inc(self) -> None:
        self.n += 1


def test_a_switch_with_default_always_stops() -> None:
    wf = SwitchDefaultLoop()
    state = new_state("s2", wf)
    resume(wf, state)
    assert (state.status, wf.n) == (WorkflowStatus.FINISHED, 2)


class Branchy(Workflow):
    def definition(self) -> Section:
        noop = lambda: None  # noqa: E731
        return S(
            If(True, "first", Step("a", noop)).ElseIf(1 == 1, "second", Step("b", noop)),
            If(False, "maybe", Step("c", noop)).Else("otherwise", Step("d", noop)),
            Switch(Case(True, "case", Step("e", noop)), Default("default", Step("f", noop))),
        )


def test_describe_marks_only_else_and_default_branches() -> None:
    tree = describe(Branchy().definition())
    flags = [[(b["name"], b["else"]) for b in st["branches"]] for st in tree]
    assert flags == [
        [("first", False), ("second", False)],
        [("maybe", False), ("otherwise", True)],
        [("case", False), ("default", True)],
    ]


class A(BaseModel):
    a: int


class B(BaseModel):
    b: str


def _echo(model: type[BaseModel]) -> Any:
    def fn(x: Any) -> Any:
        return x

    fn.__annotations__ = {"x": model, "return": model}  # as without __future__ annotations
    return fn


class Factory(Workflow):
    def definition(self) -> Section:
        return S(Wait("w", OnEvent("ea", _echo(A)), OnEvent("eb", _echo(B))))


def test_handlers_from_one_factory_keep_their_own_types() -> None:
    wf = Factory()
    state = new_state("f1", wf)
    resume(wf, state)
    cases = describe(wf.definition())[0]["cases"]
    assert cases[0]["input_schema"]["title"] == "A"
    assert cases[1]["input_schema"]["title"] == "B"
    assert handle_event(wf, state, "eb", {"b": "hello"}) == B(b="hello")


def _local_workflow() -> type[Workflow]:
    class Item(BaseModel):
        qty: int

    class Local(Workflow):
        class Note(BaseModel):
            text: str

        total: int = 0

        def definition(self) -> Section:
            return S(
                Wait("w", OnEvent("add", self.add)),
                Wait("n", OnEvent("note", self.note)),
            )

        def add(self, item: Item) -> Item:
            self.total += item.qty
            return item

        def note(self, n: Note) -> None:
            return None

    return Local


def test_string_annotations_resolve_models_local_to_a_function_or_class() -> None:
    cls = _local_workflow()
    wf = cls()
    state = new_state("l1", wf)
    resume(wf, state)
    with pytest.raises(InvalidInput):
        handle_event(wf, state, "add", {"qty": "many"})
    handle_event(wf, state, "add", {"qty": 3})
    resume(wf, state)
    handle_event(wf, state, "note", {"text": "hi"})
    assert wf.total == 3  # type: ignore[attr-defined]


class PerItem(Workflow):
    items: dict[str, int] = {"x1": 1}

    def definition(self) -> Section:
        return S(Go("ship", self.ship).WithID(lambda: "x1"))

    def ship(self, tid: str) -> Section:
        qty = self.items[tid]  # fails for the id "" used to read the statements
        return S(Step("send", lambda: print(qty)))


def test_a_go_body_that_fails_without_an_id_is_a_definition_error_naming_it() -> None:
    with pytest.raises(DefinitionError) as info:
        new_state("g1", PerItem())
    assert info.value.details["statement"] == "ship"
    assert isinstance(info.value, WorkflowError)
    with pytest.raises(DefinitionError):
        describe(PerItem().definition())
