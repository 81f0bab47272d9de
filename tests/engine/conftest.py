"""Helpers for engine tests: drive a workflow as a stateless function would."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from engine import State, Workflow, handle_event, new_state, resume

W = TypeVar("W", bound=Workflow)


class Driver:
    """Keeps a workflow and its state as JSON between calls, like a stateless function."""

    def __init__(self, wf: Workflow, ctx: Any = None) -> None:
        self.cls = type(wf)
        self.data = wf.model_dump_json()
        self.state = new_state("wf-1", wf).model_dump_json()
        self.ctx = ctx

    def load(self) -> tuple[Any, State]:
        return self.cls.model_validate_json(self.data), State.model_validate_json(self.state)

    def save(self, wf: Workflow, state: State) -> None:
        self.data, self.state = wf.model_dump_json(), state.model_dump_json()
        assert State.model_validate_json(self.state).model_dump_json() == self.state
        assert self.cls.model_validate_json(self.data).model_dump_json() == self.data

    def resume(self) -> State:
        wf, state = self.load()
        try:
            resume(wf, state, self.ctx)
        finally:
            self.save(wf, state)
        return state

    def event(self, name: str, input: Any = None, **kw: Any) -> Any:
        wf, state = self.load()
        out = handle_event(wf, state, name, input, ctx=self.ctx, **kw)
        self.save(wf, state)
        self.resume()
        return out

    @property
    def wf(self) -> Any:
        return self.cls.model_validate_json(self.data)

    @property
    def st(self) -> State:
        return State.model_validate_json(self.state)


@pytest.fixture
def drive() -> type[Driver]:
    """The Driver class."""
    return Driver
