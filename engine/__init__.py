"""Durable workflows as Python code: the workflow language and its pure interpreter.

Write a workflow as a pydantic model whose ``definition()`` returns statements; drive it with
``new_state`` / ``resume`` / ``handle_event``. The runtime modules add Firestore, Cloud Tasks
and HTTP around this core.
"""

from engine._describe import describe
from engine._shape import validate
from engine._steps import StepInfo, current_step
from engine.dsl import (
    Break,
    Case,
    Continue,
    Default,
    For,
    Go,
    Handler,
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
from engine.errors import StepFailed, WorkflowError
from engine.interpreter import handle_event, new_state, resume
from engine.state import (
    CallbackRequest,
    State,
    Thread,
    ThreadStatus,
    WaitEvent,
    WaitStatus,
    WorkflowStatus,
)

__all__ = [
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
]
