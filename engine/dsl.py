"""The workflow language: statements that ``definition()`` returns.

``definition()`` runs again whenever the interpreter needs it, so statements are cheap,
plain objects (``__slots__``, no validation here: :func:`engine.validate` checks a definition's
shape once per workflow class). Conditions are ordinary Python values evaluated when
``definition()`` runs, e.g. ``If(self.user == "", "no user", ...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

from pydantic import BaseModel, ConfigDict

from engine._signature import call_event_fn
from engine.state import CallbackRequest


class Workflow(BaseModel):
    """Base class of workflows: the model's fields are the data, ``definition()`` the code."""

    # JSON has no NaN or Infinity; stored data is written by field name, so it is read so too
    model_config = ConfigDict(allow_inf_nan=False, populate_by_name=True)

    def definition(self) -> Section:
        """The workflow's statements, built from the current data."""
        raise NotImplementedError(f"{type(self).__name__} must define definition()")


class Stmt:
    """Base of all statements."""

    __slots__ = ()
    name: str | None = None
    """Unique statement name, or None for statements that are never a position."""


Section = tuple[Stmt, ...]
"""An ordered list of statements, as ``S(...)`` builds it (nested sections are spliced in)."""


def _flatten(stmts: tuple[Any, ...]) -> Section:
    flat: list[Any] = []
    for s in stmts:
        if type(s) is tuple:
            flat.extend(_flatten(s))
        else:
            flat.append(s)
    return tuple(flat)


def _section(stmts: tuple[Any, ...]) -> Section:
    # The common case, no nested section: *args already is the section, no copy.
    return _flatten(stmts) if tuple in map(type, stmts) else cast(Section, stmts)


def S(*stmts: Stmt | Section) -> Section:
    """A section: statements run in order. Sections nest (e.g. from helper methods)."""
    return _flatten(stmts) if tuple in map(type, stmts) else stmts  # type: ignore[return-value]


class Step(Stmt):
    """Run ``action()``; it mutates the workflow's data. If it raises, the step failed."""

    __slots__ = ("action", "name")

    def __init__(self, name: str, action: Callable[[], Any]) -> None:
        self.name = name
        self.action = action


class Branch:
    """One branch of an ``If`` chain or a ``Switch``."""

    __slots__ = ("body", "cond", "name")

    def __init__(self, cond: Any, name: str, body: Section) -> None:
        self.cond = cond
        self.name = name
        self.body = body


class If(Stmt):
    """Run the first branch whose condition is true; ``.ElseIf`` / ``.Else`` add branches."""

    __slots__ = ("branches", "has_else", "name")

    def __init__(self, cond: Any, name: str, *stmts: Stmt | Section) -> None:
        self.name = name
        self.branches = [Branch(cond, name, _section(stmts))]
        self.has_else = False

    def ElseIf(self, cond: Any, name: str, *stmts: Stmt | Section) -> If:
        """Add a branch tried when all earlier ones were false."""
        if self.has_else:
            from engine.errors import DefinitionError

            raise DefinitionError("ElseIf after Else", statement=name)
        self.branches.append(Branch(cond, name, _section(stmts)))
        return self

    def Else(self, name: str, *stmts: Stmt | Section) -> If:
        """Add the branch run when every other one was false."""
        if self.has_else:
            from engine.errors import DefinitionError

            raise DefinitionError("a second Else", statement=name)
        self.branches.append(Branch(True, name, _section(stmts)))
        self.has_else = True
        return self


class Case(Branch):
    """A ``Switch`` branch: runs ``stmt`` when ``cond`` is the first true one."""

    __slots__ = ()

    def __init__(self, cond: Any, name: str, stmt: Stmt | Section) -> None:
        super().__init__(cond, name, _section((stmt,)))


class Default(Branch):
    """The ``Switch`` branch taken when no case matches."""

    __slots__ = ()

    def __init__(self, name: str, stmt: Stmt | Section) -> None:
        super().__init__(True, name, _section((stmt,)))


class Switch(Stmt):
    """Like an ``If`` chain: the first case whose condition is true runs."""

    __slots__ = ("branches", "name")

    def __init__(self, *cases: Branch) -> None:
        self.branches = list(cases)
        self.name = cases[0].name if cases and isinstance(cases[0], Branch) else None


class For(Stmt):
    """A while-loop: run the body while ``cond`` is true (re-read after every stop)."""

    __slots__ = ("body", "cond", "name")
    body: Section

    def __init__(self, name: str, cond: Any, *stmts: Stmt | Section) -> None:
        self.name = name
        self.cond = cond
        self.body = _flatten(stmts) if tuple in map(type, stmts) else stmts  # type: ignore[assignment]


class Break(Stmt):
    """Leave the innermost loop."""

    __slots__ = ()


class Continue(Stmt):
    """Start the innermost loop's next pass (its condition is checked first)."""

    __slots__ = ()


class Return(Stmt):
    """End the current thread; on the main thread the workflow finishes."""

    __slots__ = ()


class Handler(Protocol):
    """A wait case's event handler (``On``). ``OnEvent`` and ``Timeout`` are built on it."""

    def setup(self, ctx: Any, req: CallbackRequest) -> str:
        """Called once when the wait begins; the returned text is kept with the wait."""
        ...

    def handle(self, ctx: Any, req: CallbackRequest, input: Any) -> Any:
        """Called when the event arrives; returns the response. Raising rejects the event."""
        ...

    def teardown(self, ctx: Any, req: CallbackRequest, handled: bool) -> None:
        """Called once when the wait is over (``handled``: this case's event ended it)."""
        ...


class WaitCase:
    """One event a ``Wait`` accepts, with the statements run after it."""

    __slots__ = ("body", "event", "handler")

    def __init__(self, event: str, handler: Handler, body: Section) -> None:
        self.event = event
        self.handler = handler
        self.body = body


class On(WaitCase):
    """A case with a custom handler object (setup / handle / teardown)."""

    __slots__ = ()

    def __init__(self, event: str, handler: Handler, *stmts: Stmt | Section) -> None:
        super().__init__(event, handler, _section(stmts))


class OnEvent(WaitCase):
    """A case fed over HTTP: ``fn(input)`` with a pydantic-typed parameter (or none).

    It is its own handler: the input is validated against ``fn``'s parameter type.
    """

    __slots__ = ("fn",)

    def __init__(self, event: str, fn: Callable[..., Any], *stmts: Stmt | Section) -> None:
        self.event = event
        self.fn = fn
        self.handler = self
        self.body = _flatten(stmts) if tuple in map(type, stmts) else stmts  # type: ignore[assignment]

    def setup(self, ctx: Any, req: CallbackRequest) -> str:
        """Nothing to set up: the event arrives over HTTP."""
        return ""

    def handle(self, ctx: Any, req: CallbackRequest, input: Any) -> Any:
        """Validate ``input`` and call ``fn``."""
        return call_event_fn(self.fn, req, input)

    def teardown(self, ctx: Any, req: CallbackRequest, handled: bool) -> None:
        """Nothing to tear down."""


class TimeoutHooks(Protocol):
    """What a runtime context offers so that ``Timeout`` cases fire by themselves."""

    def schedule_timeout(self, req: CallbackRequest, seconds: float) -> str:
        """Arrange for the event ``req.name`` to be delivered after ``seconds``."""
        ...

    def cancel_timeout(self, req: CallbackRequest, handled: bool) -> None:
        """The wait is over: the timer may be dropped (best effort)."""
        ...


class Timeout(WaitCase):
    """A case that fires by itself ``seconds`` after the wait began.

    It is its own handler and delegates scheduling to the context's :class:`TimeoutHooks`
    (without them, as in pure engine tests, nothing is scheduled and the test delivers the
    event itself).
    """

    __slots__ = ("seconds",)

    def __init__(self, event: str, seconds: float, *stmts: Stmt | Section) -> None:
        self.event = event
        self.seconds = seconds
        self.handler = self
        self.body = _flatten(stmts) if tuple in map(type, stmts) else stmts  # type: ignore[assignment]

    def setup(self, ctx: Any, req: CallbackRequest) -> str:
        """Schedule the timer through ``ctx.schedule_timeout`` when the context has it."""
        hook = getattr(ctx, "schedule_timeout", None)
        return str(hook(req, self.seconds)) if hook is not None else ""

    def handle(self, ctx: Any, req: CallbackRequest, input: Any) -> Any:
        """A timeout carries no input and answers nothing."""
        return None

    def teardown(self, ctx: Any, req: CallbackRequest, handled: bool) -> None:
        """Drop the timer through ``ctx.cancel_timeout`` when the context has it."""
        hook = getattr(ctx, "cancel_timeout", None)
        if hook is not None:
            hook(req, handled)


class Wait(Stmt):
    """Wait until exactly one of the cases' events happens, then run that case's body."""

    __slots__ = ("cases", "name")

    def __init__(self, name: str, *cases: WaitCase) -> None:
        self.name = name
        self.cases = cases

    def case(self, event: str) -> WaitCase | None:
        """The case for ``event``, or None."""
        for c in self.cases:
            if c.event == event:
                return c
        return None


class WaitFor(Stmt):
    """Wait until ``cond`` is true (re-checked after every move), then call ``handler()``."""

    __slots__ = ("cond", "handler", "name")

    def __init__(self, name: str, cond: Any, handler: Callable[[], Any] | None = None) -> None:
        self.name = name
        self.cond = cond
        self.handler = handler


class Go(Stmt):
    """Start a parallel thread running ``body``; the current thread goes on at once.

    ``body`` may also be a function of the thread id returning the body, so that each
    thread started in a loop with ``WithID`` knows which item it serves:
    ``Go("ship", lambda tid: self.ship(tid)).WithID(lambda: f"ship-{self.order}")``.
    Its statement names must not depend on the id.
    """

    __slots__ = ("body_fn", "id_fn", "name", "static_body")

    def __init__(self, name: str, body: Stmt | Section | Callable[[str], Stmt | Section]) -> None:
        self.name = name
        if callable(body):
            self.body_fn: Callable[[str], Stmt | Section] | None = body
            self.static_body: Section | None = None
        else:
            self.body_fn = None
            self.static_body = _section((body,))
        self.id_fn: Callable[[], str] | None = None

    def body(self, thread_id: str = "") -> Section:
        """The thread's statements (for ``thread_id`` when the body is a function)."""
        if self.body_fn is not None:
            return _section((self.body_fn(thread_id),))
        assert self.static_body is not None
        return self.static_body

    def WithID(self, fn: Callable[[], str]) -> Go:
        """Give each thread this statement starts its own id (``fn()``), e.g. in a loop."""
        self.id_fn = fn
        return self
