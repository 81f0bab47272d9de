"""The saved execution state of one workflow instance.

Positions are statement *names*, never indexes, so a definition can be edited while instances
are in flight. Everything here is a pydantic model and round-trips through JSON without loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

MAIN_THREAD = "_main"
"""Id and name of the thread that runs the top level of ``definition()``."""


class WorkflowStatus(StrEnum):
    """Where an instance is as a whole."""

    RESUMING = "Resuming"
    """Some thread can still move (e.g. right after an event, or while a step is retried)."""
    WAITING = "Waiting"
    """Every thread waits for an event or a condition."""
    FINISHED = "Finished"
    """The main thread ended; the instance accepts nothing more."""
    FAILED = "Failed"
    """A step failed; see ``State.error`` and the thread's ``error`` and ``attempts``."""


class ThreadStatus(StrEnum):
    """What a thread does next."""

    EXECUTING = "Executing"
    """It must run the step named by ``Thread.cur``."""
    RESUMING = "Resuming"
    """It must continue after ``Thread.cur`` (into ``Thread.case`` for a handled wait)."""
    WAITING_EVENT = "WaitingEvent"
    """It waits at the ``Wait`` named by ``Thread.cur`` for one of ``Thread.waits``."""
    WAITING_CONDITION = "WaitingCondition"
    """It waits at the ``WaitFor`` named by ``Thread.cur`` until its condition holds."""


class WaitStatus(StrEnum):
    """Life cycle of one awaited event."""

    SETUP = "Setup"
    """Created; its handler's ``setup`` has not run yet."""
    WAITING = "Waiting"
    """Set up; the event can be delivered."""
    TEARDOWN = "Teardown"
    """The wait is over; its handler's ``teardown`` has not run yet."""


class _Model(BaseModel):
    """A model whose field assignment skips pydantic's per-assignment machinery.

    The interpreter assigns thread fields on every move; the values it assigns are already
    the right types, and these models never validate on assignment anyway.
    """

    _fields: ClassVar[frozenset[str]] = frozenset()
    _enums: ClassVar[dict[str, type[Enum]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        cls._fields = frozenset(cls.model_fields)
        cls._enums = {
            name: f.annotation
            for name, f in cls.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, Enum)
        }

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._fields:
            if type(value) is str and name in self._enums:  # "Finished" -> the member
                value = self._enums[name](value)
            self.__dict__[name] = value
        else:
            super().__setattr__(name, value)


class WaitEvent(_Model):
    """One event a waiting thread accepts."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """Event name (the case's name inside its ``Wait``)."""
    wait: str
    """Name of the ``Wait`` statement the case belongs to."""
    kind: str = ""
    """The case's type: ``OnEvent``, ``Timeout`` or the custom handler's class name."""
    status: WaitStatus = WaitStatus.SETUP
    """Setup / waiting / teardown."""
    handled: bool = False
    """True for the case whose event ended the wait."""
    setup_data: str = ""
    """What the handler's ``setup`` returned (e.g. a timer task name)."""


class Thread(_Model):
    """One thread of an instance: the main thread or one started by ``Go``."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """Unique id within the instance (``_main``, the Go name, or its ``WithID`` id)."""
    name: str
    """The ``Go`` statement that started it (``_main`` for the main thread)."""
    parents: list[str] = Field(default_factory=list)
    """Ids of the threads whose ``Go`` statements led to this one, outermost first, the main
    thread left out (empty unless ``Go`` statements nest): a nested body function gets its
    own thread's id, and each enclosing body is rebuilt with the id it ran with."""
    status: ThreadStatus = ThreadStatus.RESUMING
    """What the thread does next."""
    cur: str = ""
    """Name of the current statement; "" means the start of the thread's body."""
    case: str = ""
    """For a handled wait: the event whose case body runs next."""
    waits: list[WaitEvent] = Field(default_factory=list)
    """Events of the current (or just finished) wait."""
    pc: int = 0
    """The workflow pc when the current wait began; callbacks must quote it."""
    attempts: int = 0
    """Failed attempts of the current step (0 when it has not failed)."""
    error: str = ""
    """The last failure of the current step."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """What a wait handler is told about the wait it serves."""

    workflow_id: str
    """Instance id."""
    thread_id: str
    """Thread that waits."""
    name: str
    """Event name."""
    pc: int
    """Program counter of the wait (stale callbacks quote an older one)."""
    setup_data: str = ""
    """What ``setup`` returned for this wait."""


class State(_Model):
    """Engine state of one instance; the workflow's own data is kept beside it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """Instance id."""
    workflow: str
    """Workflow (type) name."""
    status: WorkflowStatus = WorkflowStatus.RESUMING
    """Overall status."""
    threads: list[Thread] = Field(default_factory=list)
    """Running threads, the main thread first."""
    pc: int = 0
    """Grows by one on every change (a move, an event)."""
    error: str = ""
    """Why the instance is ``Failed`` ("" otherwise)."""

    def thread(self, thread_id: str) -> Thread | None:
        """The thread with this id, or None."""
        for t in self.threads:
            if t.id == thread_id:
                return t
        return None
