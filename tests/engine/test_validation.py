"""A malformed definition fails when it is validated: before any step of an instance runs."""

from __future__ import annotations

import pytest

from engine import For, If, S, Section, Step, Workflow, new_state, resume
from engine.errors import DefinitionError


class Spinner(Workflow):
    ran: int = 0
    idle: bool = True

    def definition(self) -> Section:
        return S(
            Step("first", self.first),
            For("spin", True, If(self.idle, "idle", Step("work", self.first))),
        )

    def first(self) -> None:
        self.ran += 1


def test_new_state_validates_the_definition() -> None:
    with pytest.raises(DefinitionError, match="spin") as err:
        new_state("s", Spinner())
    assert err.value.statement == "spin" and "Spinner" in str(err.value)


class Twice(Workflow):
    ran: int = 0

    def definition(self) -> Section:
        return S(Step("same", self.run), Step("same", self.run))

    def run(self) -> None:
        self.ran += 1


def test_resume_validates_before_running_anything() -> None:
    wf = Twice()
    state = new_state("t", "Twice")  # by name: nothing validated yet
    with pytest.raises(DefinitionError, match="duplicate") as err:
        resume(wf, state)
    assert err.value.statement == "same"
    assert wf.ran == 0 and state.pc == 0
