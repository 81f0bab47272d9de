"""Values JSON cannot carry never reach the store: NaN, Infinity, overflowing numbers, deep
nesting are clear 4xx answers that change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine import S, Section, Step, Wait, Workflow
from engine.config import Settings
from engine.dsl import OnEvent, Timeout
from engine.errors import InstanceNotFound, InvalidData, TimeoutTooLong
from engine.http import HttpApp
from engine.registry import Registry
from engine.testing import Harness


@pytest.fixture
def client() -> Iterator[tuple[FlaskClient, Harness]]:
    harness = Harness()
    app = HttpApp(harness.service, Settings(signing_secret="s", max_body_bytes=1 << 20))
    flask_app = flask.Flask("test")

    @flask_app.route("/<path:path>", methods=["GET", "POST"])
    def api(path: str) -> flask.Response:
        return app.api(flask.request)

    with flask_app.test_client() as c:
        yield c, harness


def _post(c: FlaskClient, path: str, raw: str) -> Any:
    return c.post(path, data=raw, content_type="application/json")


def _confirmable(c: FlaskClient) -> Any:
    c.post("/wf/pizza/o1", json={})
    c.post("/wf/pizza/o1/add", json={"name": "margherita", "qty": 1})
    c.post("/wf/pizza/o1/submit")
    return c.get("/wf/pizza/o1").get_json()


@pytest.mark.parametrize(
    "raw",
    [
        '{"manager_name": "Ann", "amount": 1e400}',
        '{"manager_name": "Ann", "amount": -1e400}',
        '{"manager_name": "Ann", "amount": NaN}',
        '{"manager_name": "Ann", "amount": Infinity}',
        '{"manager_name": "Ann", "amount": -Infinity}',
    ],
)
def test_non_finite_numbers_are_rejected_and_change_nothing(
    client: tuple[FlaskClient, Harness], raw: str
) -> None:
    c, _ = client
    before = _confirmable(c)
    resp = _post(c, "/wf/pizza/o1/confirm", raw)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "bad_request"
    assert c.get("/wf/pizza/o1").get_json() == before
    ok = c.post("/wf/pizza/o1/confirm", json={"manager_name": "Ann", "amount": 20})
    assert ok.status_code == 200 and ok.get_json()["amount"] == 20


def test_a_create_body_with_nan_is_rejected(client: tuple[FlaskClient, Harness]) -> None:
    c, _ = client
    resp = _post(c, "/wf/pizza/n1", '{"amount": NaN}')
    assert resp.status_code == 400
    assert c.get("/wf/pizza/n1").status_code == 404


def test_deeply_nested_json_is_a_bad_request(client: tuple[FlaskClient, Harness]) -> None:
    c, _ = client
    before = _confirmable(c)
    resp = _post(c, "/wf/pizza/o1/add", "[" * 100_000 + "]" * 100_000)
    assert resp.status_code == 400
    assert "nested" in resp.get_json()["error"]["message"]
    assert c.get("/wf/pizza/o1").get_json() == before


class Overflow(Workflow):
    value: float = 0

    def definition(self) -> Section:
        return S(Wait("w", OnEvent("go", self.go)), Step("after", lambda: None))

    def go(self) -> None:
        self.value = float("inf")  # a handler producing a value JSON cannot carry


def test_data_a_handler_makes_unstorable_is_rejected_whole() -> None:
    registry = Registry()
    registry.add("overflow", Overflow)
    h = Harness(registry)
    h.create("overflow", "x1")
    before = h.get("overflow", "x1")
    with pytest.raises(InvalidData):
        h.send("overflow", "x1", "go")
    assert h.get("overflow", "x1") == before


def test_an_integer_too_long_to_parse_is_a_bad_request(
    client: tuple[FlaskClient, Harness],
) -> None:
    c, _ = client
    before = _confirmable(c)
    resp = _post(c, "/wf/pizza/o1/confirm", '{"manager_name": "A", "amount": ' + "1" * 5000 + "}")
    assert resp.status_code == 400
    assert c.get("/wf/pizza/o1").get_json() == before


class Patient(Workflow):
    seconds: float = 60

    def definition(self) -> Section:
        return S(Wait("w", Timeout("later", self.seconds)))


def test_a_timer_beyond_the_longest_is_rejected_whole() -> None:
    registry = Registry()
    registry.add("patient", Patient)
    h = Harness(registry)
    with pytest.raises(TimeoutTooLong):
        h.create("patient", "p1", {"seconds": 1e12})
    with pytest.raises(InstanceNotFound):
        h.get("patient", "p1")
    assert h.scheduler.tasks == {}
    h.create("patient", "p2", {"seconds": 90 * 24 * 3600})
    assert len(h.scheduler.tasks) == 1
