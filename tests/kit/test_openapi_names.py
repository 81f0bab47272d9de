"""Component names in the OpenAPI document never overwrite one another."""

from __future__ import annotations

from pydantic import BaseModel

from engine import OnEvent, S, Section, Timeout, Wait, Workflow
from engine._describe import describe_workflow
from engine.openapi import openapi_document


class Error(BaseModel):
    code: int


class Instance(BaseModel):
    x: int


class AddInput(BaseModel):
    other: str


class Inp(BaseModel):
    name: str
    err: Error


class Clash(Workflow):
    e: Error | None = None
    i: Instance | None = None
    a: AddInput | None = None

    def definition(self) -> Section:
        return S(Wait("w", OnEvent("add", self.add), OnEvent("history", self.h), Timeout("t", 5)))

    def add(self, i: Inp) -> None:
        pass

    def h(self) -> None:
        pass


def _target(schemas: dict[str, object], ref: str) -> object:
    return schemas[ref.rsplit("/", 1)[-1]]


def test_user_models_named_like_fixed_schemas_are_renamed() -> None:
    doc = openapi_document(describe_workflow(Clash, "clash"))
    s = doc["components"]["schemas"]
    assert "error" in s["Error"]["properties"] and "meta" in s["Instance"]["properties"]
    data = s["Data"]["properties"]
    assert _target(s, data["e"]["anyOf"][0]["$ref"]) == Error.model_json_schema()
    assert _target(s, data["i"]["anyOf"][0]["$ref"]) == Instance.model_json_schema()
    assert _target(s, data["a"]["anyOf"][0]["$ref"]) == AddInput.model_json_schema()
    add = doc["paths"]["/wf/clash/{id}/add"]["post"]
    body = _target(s, add["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert isinstance(body, dict) and sorted(body["required"]) == ["err", "name"]


def test_an_event_named_history_keeps_the_history_path() -> None:
    doc = openapi_document(describe_workflow(Clash, "clash"))
    assert {"get", "post"} <= set(doc["paths"]["/wf/clash/{id}/history"])
