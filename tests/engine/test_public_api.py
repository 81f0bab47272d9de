"""The public names of ``engine`` are pinned: adding or removing one is a deliberate change."""

from __future__ import annotations

import engine

EXPECTED = {
    "Break",
    "CallbackRequest",
    "Case",
    "Continue",
    "Default",
    "For",
    "Go",
    "Handler",
    "If",
    "On",
    "OnEvent",
    "Return",
    "S",
    "Section",
    "State",
    "Step",
    "StepFailed",
    "StepInfo",
    "Switch",
    "Thread",
    "ThreadStatus",
    "Timeout",
    "Wait",
    "WaitEvent",
    "WaitFor",
    "WaitStatus",
    "Workflow",
    "WorkflowError",
    "WorkflowStatus",
    "current_step",
    "describe",
    "handle_event",
    "new_state",
    "resume",
    "validate",
}


def test_all_is_pinned() -> None:
    assert engine.__all__ == sorted(EXPECTED)


def test_every_name_is_importable_and_documented() -> None:
    for name in engine.__all__:
        obj = getattr(engine, name)
        if name != "Section":  # a type alias
            assert obj.__doc__, name
