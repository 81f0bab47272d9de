"""An OpenAPI 3.1 document for one workflow, built from ``describe_workflow``'s output."""

from __future__ import annotations

import copy
from typing import Any

from engine.store import HistoryPage

_ERRORS = {
    "400": "Malformed JSON, bad id or bad query parameter",
    "404": "Unknown workflow, instance or event",
    "409": "Conflict: instance exists, event not awaited now, instance finished, "
    "idempotency key reused",
    "413": "Body too large",
    "422": "Input fails validation, or the handler rejected it",
    "503": "Busy or unavailable: nothing was applied, retry after Retry-After",
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

_INSTANCE_SCHEMA = {
    "type": "object",
    "required": ["id", "workflow", "meta", "state"],
    "properties": {
        "id": {"type": "string"},
        "workflow": {"type": "string"},
        "meta": {"type": "object", "description": "The engine state (threads, status, pc)"},
        "state": {"$ref": "#/components/schemas/Data"},
    },
}


class _Components:
    """Collects schemas under components/schemas, rewriting ``$defs`` references."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def add(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """Register ``schema`` as ``name`` (``name2``, ... when taken); its ``$ref``."""
        hoisted = self.hoist(schema)
        target, n = name, 2
        while target in self.schemas and self.schemas[target] != hoisted:
            target, n = f"{name}{n}", n + 1
        self.schemas[target] = hoisted
        return {"$ref": f"#/components/schemas/{target}"}

    def hoist(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its ``$defs`` moved to components (renamed on a clash)."""
        schema = copy.deepcopy(schema)
        defs: dict[str, Any] = schema.pop("$defs", {})
        renames = {name: name for name in defs}
        # A definition keeps its name only if the schema stored under it reads the same with
        # the final names; renaming one can change those that refer to it: repeat until stable.
        changed = True
        while changed:
            changed = False
            for name in defs:
                if renames[name] != name:
                    continue
                as_is = _rewrite(defs[name], renames)
                if name in self.schemas and self.schemas[name] != as_is:
                    target, n = f"{name}2", 3
                    # free here too: not another of these defs, nor a name chosen already
                    while target in self.schemas or target in defs or target in renames.values():
                        target, n = f"{name}{n}", n + 1
                    renames[name] = target
                    changed = True
        for name, definition in defs.items():
            self.schemas[renames[name]] = _rewrite(definition, renames)
        return dict(_rewrite(schema, renames))


def _rewrite(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                name = v.removeprefix("#/$defs/")
                out[k] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[k] = _rewrite(v, renames)
        return out
    if isinstance(node, list):
        return [_rewrite(v, renames) for v in node]
    return node


def _events(nodes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every HTTP-fed case (OnEvent, On) by event name, in order (an event may be awaited in
    several waits, with different handlers)."""
    found: dict[str, list[dict[str, Any]]] = {}

    def walk(ns: list[dict[str, Any]]) -> None:
        for n in ns:
            for case in n.get("cases", ()):
                if case["type"] != "Timeout":
                    found.setdefault(case["event"], []).append(case)
                walk(case["body"])
            for branch in n.get("branches", ()):
                walk(branch["body"])
            walk(n.get("body", []))

    walk(nodes)
    return found


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (nothing was applied)",
        "schema": {"type": "integer"},
    }
}

_PAGE_SCHEMA = {
    "type": "object",
    "required": ["items", "next_cursor"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "status", "waiting", "positions", "updated_at"],
                "properties": {
                    "id": {"type": "string"},
                    "status": {"type": "string"},
                    "waiting": {"type": "array", "items": {"type": "string"}},
                    "positions": {"type": "array", "items": {"type": "string"}},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
        },
        "next_cursor": {"type": ["string", "null"]},
    },
}


def _errors(*codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        out[code] = {
            "description": _ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if code == "503":
            out[code]["headers"] = _RETRY_AFTER
    return out


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document(description: dict[str, Any], base_url: str = "") -> dict[str, Any]:
    """OpenAPI 3.1 for the workflow: create, get, list, history, each event, its pictures."""
    workflow = description["workflow"]
    comps = _Components()
    # The fixed names first, so a model of the same name in a user's schema gets renamed.
    comps.schemas["Error"] = _ERROR_SCHEMA
    comps.schemas["Instance"] = _INSTANCE_SCHEMA
    comps.schemas["Data"] = comps.schemas["InitialData"] = {}
    history_page = comps.add("HistoryPage", HistoryPage.model_json_schema(mode="serialization"))
    data = comps.hoist(description["schema"])
    comps.schemas["Data"] = data
    partial = copy.deepcopy(data)
    partial.pop("required", None)
    comps.schemas["InitialData"] = partial
    instance = _json({"$ref": "#/components/schemas/Instance"})
    base = f"/wf/{workflow}"
    paths: dict[str, Any] = {
        base + "/{id}": {
            "parameters": [_ID],
            "post": {
                "operationId": "create",
                "summary": f"Create a {workflow} instance and run it until it waits",
                "requestBody": {
                    "required": False,
                    "content": _json({"$ref": "#/components/schemas/InitialData"}),
                },
                "responses": {
                    "201": {"description": "Created", "content": instance},
                    **_errors("400", "404", "409", "413", "422", "503"),
                },
            },
            "get": {
                "operationId": "get",
                "summary": "The instance: engine state and data",
                "responses": {
                    "200": {"description": "The instance", "content": instance},
                    **_errors("400", "404", "503"),
                },
            },
        },
        base: {
            "get": {
                "operationId": "list",
                "summary": f"List {workflow} instances",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": ["Resuming", "Waiting", "Finished", "Failed"],
                        },
                    },
                    {"name": "position", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "A page of instances",
                        "content": _json(_PAGE_SCHEMA),
                    },
                    **_errors("400", "404", "503"),
                },
            }
        },
        base + "/{id}/history": {
            "parameters": [_ID],
            "get": {
                "operationId": "history",
                "summary": "The instance's history, oldest first",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "description": "Entries after this sequence number (a next_cursor)",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                ],
                "responses": {
                    "200": {"description": "A page of entries", "content": _json(history_page)},
                    **_errors("400", "404", "503"),
                },
            },
        },
    }
    for event, cases in _events(description["definition"]).items():
        op: dict[str, Any] = {
            "operationId": f"event_{event}",
            "summary": f"Deliver event {event!r}, then run until every thread waits",
            "parameters": [
                {"name": "thread", "in": "query", "schema": {"type": "string"}},
                {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "The handler's output", "content": _json({})},
                **_errors("400", "404", "409", "413", "422", "503"),
            },
        }
        inputs = [c.get("input_schema", {}) for c in cases]  # On: any JSON ({}); no input: None
        if any(s is not None for s in inputs):
            schema = _one_of(comps, f"{_title(event)}Input", inputs)
            required = all(c["type"] == "OnEvent" and c["input_schema"] for c in cases)
            op["requestBody"] = {"required": required, "content": _json(schema)}
        outputs = [c.get("output_schema", {}) for c in cases]
        if any(s is not None for s in outputs):
            out = _one_of(comps, f"{_title(event)}Output", outputs)
            op["responses"]["200"]["content"] = _json(out)
        paths.setdefault(f"{base}/{{id}}/{event}", {"parameters": [_ID]})["post"] = op
    paths[f"/definition/{workflow}"] = {
        "get": {
            "operationId": "definition",
            "summary": "The statement tree and the data's JSON schema",
            "responses": {
                "200": {"description": "Definition", "content": _json({})},
                **_errors("404"),
            },
        }
    }
    paths[f"/openapi/{workflow}"] = {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": _json({})},
                **_errors("404"),
            },
        }
    }
    paths[f"/graph/{workflow}"] = {
        "get": {
            "operationId": "graph",
            "summary": "The definition as a graph",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["mermaid", "dot", "svg"]},
                },
                {
                    "name": "instance",
                    "in": "query",
                    "description": "With format=svg: outline where this instance sits",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {"description": "Mermaid or DOT text, or an SVG picture"},
                **_errors("400", "404", "503"),
            },
        }
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": f"{workflow} workflow", "version": "1"},
        "paths": paths,
        "components": {"schemas": comps.schemas},
    }
    if base_url:
        doc["servers"] = [{"url": base_url}]
    return doc


def _one_of(comps: _Components, name: str, schemas: list[dict[str, Any] | None]) -> dict[str, Any]:
    """One schema for what the cases of an event accept (or answer): the one, or ``anyOf``."""
    distinct: list[dict[str, Any]] = []
    for s in schemas:
        if s is not None and s not in distinct:
            distinct.append(s)
    if {} in distinct:  # one case takes any JSON: so does the event
        return {}
    refs = [comps.add(name, s) for s in distinct]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _title(event: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in event.replace("-", "_").split("_") if p)
