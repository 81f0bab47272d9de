"""Operating instances: repair, cancel, purge. Each is one validated transaction and is
recorded in the instance's history (whatever the history setting), with who asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from engine import _repair
from engine._log import log
from engine._tx import TxContext
from engine.dsl import Workflow
from engine.errors import InstanceNotFound, InvalidData, InvalidRepair
from engine.runtime import Service, view
from engine.state import State, WorkflowStatus
from engine.store import Change, InstanceDoc

Repair = Callable[[type[Workflow], Workflow, State, TxContext], Workflow]
"""Changes the loaded instance in place (or returns replacement data); raises to refuse."""


class Admin:
    """Repairs over a :class:`Service`."""

    def __init__(self, service: Service) -> None:
        self.service = service
        """The runtime service."""

    def _repair(
        self, workflow: str, id: str, op: str, request: Any, actor: str, repair: Repair
    ) -> dict[str, Any]:
        svc = self.service
        cls = svc.registry.get(workflow)

        def fn(doc: InstanceDoc | None, ctx: TxContext) -> tuple[Change | None, dict[str, Any]]:
            if doc is None:
                raise InstanceNotFound(workflow, id)
            wf, state = svc.load(cls, doc)
            pc = state.pc
            wf = repair(cls, wf, state, ctx)
            # Resume (a WaitFor may hold now); a failed step stays for its retry (its own
            # operation, or its retry task).
            if state.status is not WorkflowStatus.FINISHED:
                svc.advance(cls, wf, state, ctx)
            change = svc.change(
                doc, wf, state, ctx, "repair", op, request, None, pc, record=True, actor=actor
            )
            assert change.doc is not None
            return change, view(change.doc)

        repaired = svc.mutate(workflow, id, fn)
        return svc.get(workflow, id) if svc.drive(cls, workflow, id) else repaired

    def replace_data(
        self, workflow: str, id: str, fields: dict[str, Any], actor: str = ""
    ) -> dict[str, Any]:
        """Replace data fields (validated against the workflow's model), then resume."""

        def repair(cls: type[Workflow], wf: Workflow, state: State, ctx: TxContext) -> Workflow:
            _repair.require_running(state)  # a finished instance's data is its final record
            unknown = sorted(set(fields) - set(cls.model_fields))
            if unknown:
                raise InvalidRepair(id, f"unknown data fields {unknown}")
            merged = json.loads(wf.model_dump_json()) | fields  # each field replaced whole
            try:
                text = json.dumps(merged, default=to_jsonable_python, allow_nan=False)
            except (TypeError, ValueError) as e:  # a value JSON cannot carry
                problem = {"loc": [], "msg": f"not JSON data: {e}", "type": "json_type"}
                raise InvalidData(workflow, [problem]) from e
            try:  # from JSON, as stored data is read (strict models accept it so)
                return cls.model_validate_json(text)
            except ValidationError as e:
                errors = e.errors(include_url=False, include_context=False, include_input=False)
                raise InvalidData(workflow, [dict(x) for x in errors]) from e

        return self._repair(workflow, id, "replace_data", fields, actor, repair)

    def goto(
        self, workflow: str, id: str, thread: str, statement: str, actor: str = ""
    ) -> dict[str, Any]:
        """Move a thread to a named step, wait or WaitFor, then resume."""

        def repair(cls: type[Workflow], wf: Workflow, state: State, ctx: TxContext) -> Workflow:
            _repair.goto(wf, state, thread, statement, ctx)
            return wf

        request = {"thread": thread, "statement": statement}
        return self._repair(workflow, id, "goto", request, actor, repair)

    def add_thread(
        self, workflow: str, id: str, thread: str, go: str, actor: str = ""
    ) -> dict[str, Any]:
        """Start a thread on the body of the ``Go`` statement ``go``."""

        def repair(cls: type[Workflow], wf: Workflow, state: State, ctx: TxContext) -> Workflow:
            _repair.add_thread(wf, state, thread, go)
            return wf

        request = {"thread": thread, "go": go}
        return self._repair(workflow, id, "add_thread", request, actor, repair)

    def remove_thread(self, workflow: str, id: str, thread: str, actor: str = "") -> dict[str, Any]:
        """Stop a thread (not the main one)."""

        def repair(cls: type[Workflow], wf: Workflow, state: State, ctx: TxContext) -> Workflow:
            _repair.remove_thread(wf, state, thread, ctx)
            return wf

        return self._repair(workflow, id, "remove_thread", {"thread": thread}, actor, repair)

    def retry(self, workflow: str, id: str, actor: str = "") -> dict[str, Any]:
        """Run failed steps again now, with a fresh retry count."""

        def repair(cls: type[Workflow], wf: Workflow, state: State, ctx: TxContext) -> Workflow:
            _repair.retry_now(state)
            return wf

        return self._repair(workflow, id, "retry", None, actor, repair)

    def cancel(self, workflow: str, id: str, actor: str = "") -> dict[str, Any]:
        """End the instance now; its pending timers become stale and are ignored."""

        def repair(cls: type[Workflow], wf: Workflow, state: State, ctx: TxContext) -> Workflow:
            _repair.cancel(wf, state, f"cancelled{' by ' + actor if actor else ''}", ctx)
            return wf

        return self._repair(workflow, id, "cancel", None, actor, repair)

    def purge(self, workflow: str, id: str, actor: str = "") -> None:
        """Delete a finished instance (and its history) now; logged with ``actor`` (its
        history goes with it)."""
        svc = self.service
        svc.registry.get(workflow)

        def fn(doc: InstanceDoc | None, ctx: TxContext) -> tuple[Change | None, None]:
            if doc is None:
                raise InstanceNotFound(workflow, id)
            if doc.status != WorkflowStatus.FINISHED.value:
                raise InvalidRepair(id, "only a finished or cancelled instance can be purged")
            return Change(None, delete=True), None

        svc.mutate(workflow, id, fn)
        log("INFO", "instance purged", workflow=workflow, id=id, actor=actor)
