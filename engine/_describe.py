"""A JSON description of a definition: the statement tree with names, types and schemas.

The HTTP layer builds the graph and the OpenAPI document from it.
"""

from __future__ import annotations

from typing import Any

from engine._shape import build_shape, go_body
from engine._signature import signature_of
from engine.dsl import (
    Branch,
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
    Switch,
    Timeout,
    Wait,
    WaitCase,
    WaitFor,
    Workflow,
)


def describe(definition: Section) -> list[dict[str, Any]]:
    """The statement tree of a (valid) definition as JSON-able dicts.

    Every node has ``type``; named statements have ``name``; containers have ``body`` (or
    ``branches`` / ``cases``). ``OnEvent`` cases carry ``input_schema`` and ``output_schema``
    (JSON schema, or None when the function takes no input / declares no output).
    """
    build_shape(definition)
    return _section(definition)


def sample(cls: type[Workflow]) -> Workflow:
    """An instance with default data, used to read a workflow class's definition."""
    try:
        return cls()
    except Exception:
        return cls.model_construct()


def describe_workflow(cls: type[Workflow], name: str) -> dict[str, Any]:
    """``{"workflow", "definition", "schema"}`` for a registered workflow class."""
    return {
        "workflow": name,
        "definition": describe(sample(cls).definition()),
        "schema": cls.model_json_schema(),
    }


def _section(stmts: Section) -> list[dict[str, Any]]:
    return [_stmt(st) for st in stmts]


def _stmt(st: object) -> dict[str, Any]:
    if isinstance(st, Step):
        return {"type": "Step", "name": st.name}
    if isinstance(st, If | Switch):
        kind = "If" if isinstance(st, If) else "Switch"
        return {
            "type": kind,
            "name": st.name,
            "branches": [
                {"name": br.name, "else": _is_else(st, br), "body": _section(br.body)}
                for br in st.branches
            ],
        }
    if isinstance(st, For):
        return {"type": "For", "name": st.name, "body": _section(st.body)}
    if isinstance(st, Wait):
        return {"type": "Wait", "name": st.name, "cases": [_case(c) for c in st.cases]}
    if isinstance(st, WaitFor):
        return {"type": "WaitFor", "name": st.name}
    if isinstance(st, Go):
        return {
            "type": "Go",
            "name": st.name,
            "per_id": st.id_fn is not None,
            "body": _section(go_body(st)),
        }
    if isinstance(st, Break):
        return {"type": "Break"}
    if isinstance(st, Continue):
        return {"type": "Continue"}
    if isinstance(st, Return):
        return {"type": "Return"}
    raise TypeError(f"not a statement: {st!r}")


def _is_else(st: If | Switch, br: Branch) -> bool:
    """Whether ``br`` is the branch taken when no other is (``Else`` or ``Default``)."""
    if isinstance(st, If):
        return st.has_else and br is st.branches[-1]
    return isinstance(br, Default)


def _case(c: WaitCase) -> dict[str, Any]:
    out: dict[str, Any]
    h = c.handler
    if isinstance(c, OnEvent):
        sig = signature_of(c.fn, c.event)
        out = {
            "type": "OnEvent",
            "event": c.event,
            "input_schema": sig.input.json_schema() if sig.input is not None else None,
            "output_schema": sig.output.json_schema(mode="serialization")
            if sig.output is not None
            else None,
        }
    elif isinstance(c, Timeout):
        out = {"type": "Timeout", "event": c.event, "seconds": c.seconds}
    else:
        out = {"type": "On", "event": c.event, "handler": type(h).__name__}
    out["body"] = _section(c.body)
    return out
