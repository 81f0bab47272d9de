"""Validation of a definition's shape, and the name index built while validating.

A workflow's definition is validated once per class (``shape_of``) and the index maps every
statement name to its path, so the interpreter finds a position without walking the tree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine._names import is_name
from engine._signature import signature_of
from engine.dsl import (
    Break,
    Continue,
    Default,
    For,
    Go,
    If,
    OnEvent,
    Return,
    Section,
    Step,
    Stmt,
    Switch,
    Timeout,
    Wait,
    WaitCase,
    WaitFor,
    Workflow,
)
from engine.errors import DefinitionError
from engine.state import MAIN_THREAD

STOP_KINDS = frozenset({"Step", "Wait", "WaitFor"})
"""Kinds of statement a thread can sit on."""


@dataclass(frozen=True)
class Position:
    """Where a named statement lives."""

    kind: str
    """Statement kind: Step, Wait, WaitFor, For, Go or Branch."""
    root: str
    """The thread body it belongs to: ``_main`` or the enclosing ``Go``'s name."""
    path: tuple[str, ...]
    """Names to follow from the thread body down to the statement (itself last)."""


@dataclass
class Shape:
    """The validated structure of a definition."""

    positions: dict[str, Position] = field(default_factory=dict)
    """Every statement name (steps, waits, loops, branches, threads) and where it is."""
    events: dict[str, list[str]] = field(default_factory=dict)
    """Event name -> names of the waits that accept it."""


# Ways to leave a statement without having stopped (at a step or a wait).
_NEXT, _BREAK, _CONTINUE, _RETURN = "next", "break", "continue", "return"


def build_shape(section: Section, workflow: str = "") -> Shape:
    """Validate ``section`` and index its names; raises :class:`DefinitionError`."""
    if not isinstance(section, tuple):
        raise DefinitionError(
            f"definition() must return S(...), got {type(section).__name__}", workflow=workflow
        )
    shape = Shape()
    _walk(shape, section, MAIN_THREAD, (), 0, "", workflow)
    return shape


def validate(definition: Section) -> None:
    """Reject a definition with duplicate names or malformed statements."""
    build_shape(definition)


def _name(shape: Shape, st: object, name: object, pos: Position, workflow: str) -> str:
    if not isinstance(name, str) or not name:
        raise DefinitionError(
            f"{type(st).__name__} needs a non-empty string name, got {name!r}", workflow=workflow
        )
    if name in shape.positions:
        raise DefinitionError("duplicate statement name", statement=name, workflow=workflow)
    shape.positions[name] = pos
    return name


def _walk(
    shape: Shape,
    stmts: Iterable[object],
    root: str,
    path: tuple[str, ...],
    loops: int,
    where: str,
    wf: str,
) -> None:
    for st in stmts:
        if isinstance(st, Step):
            name = _name(shape, st, st.name, Position("Step", root, (*path, str(st.name))), wf)
            if not callable(st.action):
                raise DefinitionError("the step's action is not callable", statement=name)
        elif isinstance(st, If | Switch):
            if not st.branches:
                raise DefinitionError("a Switch needs at least one Case", statement=where)
            for br in st.branches:
                if not hasattr(br, "body"):
                    raise DefinitionError(
                        f"Switch takes Case/Default, got {type(br).__name__}", statement=where
                    )
                sub = (*path, str(br.name))
                name = _name(shape, br, br.name, Position("Branch", root, sub), wf)
                _walk(shape, br.body, root, sub, loops, name, wf)
        elif isinstance(st, For):
            sub = (*path, str(st.name))
            name = _name(shape, st, st.name, Position("For", root, sub), wf)
            exits = _flow(st.body)
            if _NEXT in exits or _CONTINUE in exits:
                raise DefinitionError(
                    "the loop body can complete a pass without stopping at a step or a wait "
                    "(it would spin forever)",
                    statement=name,
                    workflow=wf,
                )
            _walk(shape, st.body, root, sub, loops + 1, name, wf)
        elif isinstance(st, Wait):
            sub = (*path, str(st.name))
            name = _name(shape, st, st.name, Position("Wait", root, sub), wf)
            _walk_cases(shape, st, root, sub, loops, wf)
        elif isinstance(st, WaitFor):
            name = _name(shape, st, st.name, Position("WaitFor", root, (*path, str(st.name))), wf)
            if st.handler is not None and not callable(st.handler):
                raise DefinitionError("the WaitFor handler is not callable", statement=name)
        elif isinstance(st, Go):
            name = _name(shape, st, st.name, Position("Go", root, (*path, str(st.name))), wf)
            if name == MAIN_THREAD:
                raise DefinitionError(f"{MAIN_THREAD!r} is reserved", statement=name)
            _walk(shape, go_body(st), name, (), 0, name, wf)
        elif isinstance(st, Break | Continue):
            if loops == 0:
                place = f"inside {where!r}" if where else "at the top level"
                raise DefinitionError(
                    f"{type(st).__name__}() outside a loop ({place})", statement=where, workflow=wf
                )
        elif not isinstance(st, Return):
            raise DefinitionError(
                f"not a statement: {st!r} (a Wait case or a missing S(...)?)",
                statement=where,
                workflow=wf,
            )


def _walk_cases(
    shape: Shape, st: Wait, root: str, sub: tuple[str, ...], loops: int, wf: str
) -> None:
    name = str(st.name)
    if not st.cases:
        raise DefinitionError("a Wait needs at least one case", statement=name, workflow=wf)
    seen: set[str] = set()
    for case in st.cases:
        if not isinstance(case, WaitCase):
            raise DefinitionError(
                f"Wait takes On/OnEvent/Timeout cases, got {type(case).__name__}",
                statement=name,
                workflow=wf,
            )
        event = case.event
        if not isinstance(event, str) or not event or "/" in event:
            raise DefinitionError(
                f"event names are non-empty strings without '/', got {event!r}", statement=name
            )
        if not isinstance(case, Timeout) and not is_name(event):
            raise DefinitionError(
                f"events fed over HTTP appear in URLs: use letters, digits, '_', '.', '-' (at "
                f"most 100, starting with a letter or digit), got {event!r}",
                statement=name,
            )
        if event in seen:
            raise DefinitionError(f"duplicate event {event!r}", statement=name, workflow=wf)
        seen.add(event)
        handler = case.handler
        if isinstance(case, OnEvent):
            signature_of(case.fn, event)
        elif isinstance(case, Timeout):
            s = case.seconds
            if (
                not isinstance(s, int | float)
                or isinstance(s, bool)
                or not math.isfinite(s)
                or s < 0
            ):
                raise DefinitionError(
                    f"Timeout {event!r} needs a finite number of seconds >= 0, got {s!r}",
                    statement=name,
                )
        elif not all(callable(getattr(handler, m, None)) for m in ("setup", "handle", "teardown")):
            raise DefinitionError(
                f"the handler of event {event!r} lacks setup/handle/teardown", statement=name
            )
        shape.events.setdefault(event, []).append(name)
        _walk(shape, case.body, root, (*sub, event), loops, f"{name}/{event}", wf)


def go_body(st: Go) -> Section:
    """A ``Go`` statement's body as validation and descriptions see it.

    A body function is called with the id ``""`` here (no thread exists yet); its statement
    names must not depend on the id, and it must not fail for that id.
    """
    try:
        return st.body()
    except Exception as e:
        raise DefinitionError(
            "the Go body function failed when called with the thread id '' to read its "
            f"statements (build statements without using the id; use it inside steps): {e!r}",
            statement=str(st.name),
        ) from e


def _flow(stmts: Iterable[object]) -> set[str]:
    """How control can leave ``stmts`` without passing a step or a wait."""
    out: set[str] = set()
    for st in stmts:
        exits = _exits(st)
        out |= exits - {_NEXT}
        if _NEXT not in exits:
            return out
    return out | {_NEXT}


def _exits(st: object) -> set[str]:
    if isinstance(st, Step | Wait | WaitFor):
        return set()
    if isinstance(st, Break):
        return {_BREAK}
    if isinstance(st, Continue):
        return {_CONTINUE}
    if isinstance(st, Return):
        return {_RETURN}
    if isinstance(st, If | Switch):
        out: set[str] = set()
        for br in st.branches:
            out |= _flow(br.body)
        has_else = st.has_else if isinstance(st, If) else isinstance(st.branches[-1], Default)
        return out if has_else else out | {_NEXT}
    if isinstance(st, For):
        return {_NEXT} | (_flow(st.body) & {_RETURN})
    return {_NEXT}  # Go, and anything else: passes through


def shape_kinds(shape: Shape) -> dict[str, list[str]]:
    """Names of the statements a thread can sit on, by kind (for listings and repair)."""
    out: dict[str, list[str]] = {}
    for name, pos in shape.positions.items():
        if pos.kind in STOP_KINDS:
            out.setdefault(pos.kind, []).append(name)
    return out


_shapes: dict[type[Workflow], Shape] = {}


def shape_of(wf: Workflow, definition: Section | None = None, *, refresh: bool = False) -> Shape:
    """The validated shape of ``wf``'s class, built once (again with ``refresh``)."""
    cls = type(wf)
    shape = _shapes.get(cls)
    if shape is None or refresh:
        shape = build_shape(wf.definition() if definition is None else definition, cls.__name__)
        _shapes[cls] = shape
    return shape


def is_stmt(x: object) -> bool:
    """True for statements (used by callers that accept a statement or a section)."""
    return isinstance(x, Stmt)
