"""The OpenAPI 3.1 document of a workflow validates and describes every event."""

from __future__ import annotations

import json
from typing import Any

from openapi_spec_validator import validate

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine._describe import describe_workflow
from engine.openapi import openapi_document
from engine.registry import default_registry


def pizza_doc() -> dict[str, Any]:
    return openapi_document(describe_workflow(default_registry.get("pizza"), "pizza"), "http://x")


def test_document_validates() -> None:
    validate(pizza_doc())


def test_every_http_event_has_a_path_with_its_schemas() -> None:
    doc = pizza_doc()
    paths = doc["paths"]
    for event in [
        "add",
        "clean",
        "submit",
        "confirm",
        "confirm_payment",
        "start_cooking",
        "cooked",
        "take_for_delivery",
        "delivered",
    ]:
        assert f"/wf/pizza/{{id}}/{event}" in paths, event
    add = paths["/wf/pizza/{id}/add"]["post"]
    ref = add["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert sorted(schema["required"]) == ["name", "qty"]
    assert "requestBody" not in paths["/wf/pizza/{id}/cooked"]["post"]
    assert {"200", "404", "409", "422"} <= set(add["responses"])


def test_timeouts_are_not_http_events_and_no_defs_remain() -> None:
    doc = pizza_doc()
    assert not [p for p in doc["paths"] if "timeout" in p]
    text = json.dumps(doc)
    assert "#/$defs/" not in text and '"$defs"' not in text
    create = doc["paths"]["/wf/pizza/{id}"]["post"]["requestBody"]["content"]
    initial = doc["components"]["schemas"]["InitialData"]
    assert create["application/json"]["schema"]["$ref"].endswith("/InitialData")
    assert "required" not in initial and "timeouts" in initial["properties"]


def test_listing_shape_and_retry_after_are_declared() -> None:
    doc = pizza_doc()
    listing = doc["paths"]["/wf/pizza"]["get"]["responses"]
    page = listing["200"]["content"]["application/json"]["schema"]
    assert page["required"] == ["items", "next_cursor"]
    assert "Retry-After" in listing["503"]["headers"]
    add = doc["paths"]["/wf/pizza/{id}/add"]["post"]["responses"]
    assert "Retry-After" in add["503"]["headers"] and "headers" not in add["409"]


def test_every_route_of_the_workflow_is_documented() -> None:
    doc = pizza_doc()
    fixed = {
        "/wf/pizza",
        "/wf/pizza/{id}",
        "/wf/pizza/{id}/history",
        "/definition/pizza",
        "/graph/pizza",
        "/openapi/pizza",
    }
    assert fixed <= set(doc["paths"])
    history = doc["paths"]["/wf/pizza/{id}/history"]["get"]
    assert [p["name"] for p in history["parameters"]] == ["after", "limit"]
    ref = history["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
    graph = doc["paths"]["/graph/pizza"]["get"]
    assert [p["name"] for p in graph["parameters"]] == ["format", "instance"]
    assert {"200", "400", "404"} <= set(graph["responses"])
