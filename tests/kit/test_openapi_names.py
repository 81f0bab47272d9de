"""Component names in the OpenAPI document never overwrite one another."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, create_model

from engine import On, OnEvent, S, Section, Timeout, Wait, Workflow
from engine._describe import describe_workflow
from engine.errors import DefinitionError
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


InnerA = create_model("Inner", y=(str, ...))
InnerB = create_model("Inner", z=(bool, ...))
Inner2 = create_model("Inner2", q=(int, ...))
Payload = create_model("Payload", a=(InnerB, ...), b=(Inner2, ...))


class Renamed(Workflow):
    d: InnerA | None = None

    def definition(self) -> Section:
        return S(Wait("w", OnEvent("send", self.send)))

    def send(self, p: Payload) -> None:
        pass


def test_a_renamed_model_never_takes_the_name_of_another_one() -> None:
    doc = openapi_document(describe_workflow(Renamed, "renamed"))
    validate(doc)
    schemas = doc["components"]["schemas"]
    body = doc["paths"]["/wf/renamed/{id}/send"]["post"]["requestBody"]
    payload = _target(schemas, body["content"]["application/json"]["schema"]["$ref"])
    a = _target(schemas, payload["properties"]["a"]["$ref"])  # type: ignore[index]
    b = _target(schemas, payload["properties"]["b"]["$ref"])  # type: ignore[index]
    assert list(a["properties"]) == ["z"] and list(b["properties"]) == ["q"]  # type: ignore[index]


class A(BaseModel):
    a: int


class B(BaseModel):
    b: str


class Twice(Workflow):
    def definition(self) -> Section:
        return S(
            Wait("w1", OnEvent("approve", self.first)), Wait("w2", OnEvent("approve", self.second))
        )

    def first(self, x: A) -> None:
        pass

    def second(self, x: B) -> None:
        pass


def test_an_event_awaited_with_two_inputs_documents_both() -> None:
    doc = openapi_document(describe_workflow(Twice, "twice"))
    validate(doc)
    body = doc["paths"]["/wf/twice/{id}/approve"]["post"]["requestBody"]
    refs = [r["$ref"] for r in body["content"]["application/json"]["schema"]["anyOf"]]
    titles = [_target(doc["components"]["schemas"], r)["title"] for r in refs]  # type: ignore[index]
    assert titles == ["A", "B"] and body["required"] is True


class Spaced(Workflow):
    def definition(self) -> Section:
        return S(Wait("w", OnEvent("ev q", lambda: None), Timeout("no answer", 5)))


def test_http_event_names_must_fit_in_a_url_but_timeouts_may_read_freely() -> None:
    with pytest.raises(DefinitionError) as info:
        describe_workflow(Spaced, "spaced")
    assert "ev q" in info.value.message


BX = create_model("B", x=(int, ...))
BY = create_model("B", y=(str, ...))
In1 = create_model("In1", a=(create_model("A", b=(BX, ...)), ...))
In2 = create_model("In2", a=(create_model("A", b=(BY, ...)), ...))


class Nested(Workflow):
    def definition(self) -> Section:
        return S(Wait("w1", OnEvent("one", self.one)), Wait("w2", OnEvent("two", self.two)))

    def one(self, i: In1) -> None:
        pass

    def two(self, i: In2) -> None:
        pass


def test_a_model_whose_reference_was_renamed_is_renamed_too() -> None:
    doc = openapi_document(describe_workflow(Nested, "nested"))
    validate(doc)
    schemas = doc["components"]["schemas"]

    def leaf(event: str) -> list[str]:
        body = doc["paths"][f"/wf/nested/{{id}}/{event}"]["post"]["requestBody"]
        top = _target(schemas, body["content"]["application/json"]["schema"]["$ref"])
        a = _target(schemas, top["properties"]["a"]["$ref"])  # type: ignore[index]
        b = _target(schemas, a["properties"]["b"]["$ref"])  # type: ignore[index]
        return list(b["properties"])  # type: ignore[index]

    assert (leaf("one"), leaf("two")) == (["x"], ["y"])


class AnyBell:
    def setup(self, ctx: object, req: object) -> str:
        return ""

    def handle(self, ctx: object, req: object, input: object) -> object:
        return None

    def teardown(self, ctx: object, req: object, handled: bool) -> None:
        return None


class Mixed(Workflow):
    def definition(self) -> Section:
        return S(Wait("w1", OnEvent("ring", self.ring)), Wait("w2", On("ring", AnyBell())))

    def ring(self, x: A) -> None:
        pass


def test_an_event_some_case_takes_any_input_for_is_documented_as_any_input() -> None:
    doc = openapi_document(describe_workflow(Mixed, "mixed"))
    validate(doc)
    body = doc["paths"]["/wf/mixed/{id}/ring"]["post"]["requestBody"]
    assert body == {"required": False, "content": {"application/json": {"schema": {}}}}
