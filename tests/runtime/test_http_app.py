"""The HTTP layer over the in-memory runtime: routes, every error code, nothing half-applied."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine._signing import SIGNATURE_HEADER, sign
from engine.config import Settings
from engine.errors import Contention
from engine.http import HttpApp
from engine.scheduler import TaskKind, TaskPayload
from engine.testing import Harness

SECRET = "test-secret"


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def client(harness: Harness) -> Iterator[FlaskClient]:
    app = HttpApp(harness.service, Settings(signing_secret=SECRET, max_body_bytes=4096))
    flask_app = flask.Flask("test")

    @flask_app.route("/tasks", methods=["GET", "POST"])
    def tasks() -> flask.Response:
        return app.tasks(flask.request)

    @flask_app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE"])
    @flask_app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
    def api(path: str) -> flask.Response:
        return app.api(flask.request)

    with flask_app.test_client() as c:
        yield c


def snapshot(client: FlaskClient, id: str = "o1") -> Any:
    return client.get(f"/wf/pizza/{id}").get_json()


def error_code(resp: Any) -> str:
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    return str(body["error"]["code"])


def test_create_get_event_list(client: FlaskClient) -> None:
    created = client.post("/wf/pizza/o1", json={"timeouts": {"cart": 2}})
    assert created.status_code == 201
    body = created.get_json()
    assert set(body) == {"id", "workflow", "meta", "state"}
    assert body["meta"]["status"] == "Waiting" and body["state"]["timeouts"]["cart"] == 2
    added = client.post("/wf/pizza/o1/add", json={"name": "margherita", "qty": 2})
    assert added.status_code == 200
    assert added.get_json()["cart"] == [{"name": "margherita", "qty": 2}]
    assert snapshot(client)["state"]["cart"] == [{"name": "margherita", "qty": 2}]
    listing = client.get("/wf/pizza?status=Waiting").get_json()
    assert [i["id"] for i in listing["items"]] == ["o1"]
    assert client.get("/wf/pizza?status=Finished").get_json()["items"] == []


def test_listing_pages(client: FlaskClient) -> None:
    for i in range(5):
        client.post(f"/wf/pizza/o{i}")
    first = client.get("/wf/pizza?limit=2").get_json()
    second = client.get(f"/wf/pizza?limit=2&cursor={first['next_cursor']}").get_json()
    third = client.get(f"/wf/pizza?limit=2&cursor={second['next_cursor']}").get_json()
    ids = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert ids == ["o0", "o1", "o2", "o3", "o4"] and third["next_cursor"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/wf/pizza/o1/add", "{not json", 400, "bad_request"),
        ("post", "/wf/pizza/o1/add", {"name": "x", "qty": 0}, 422, "invalid_input"),
        ("post", "/wf/pizza/o1/add", {"qty": 1}, 422, "invalid_input"),
        ("post", "/wf/pizza/o1/submit", None, 422, "handler_failed"),  # empty cart
        ("post", "/wf/pizza/o1/cooked", None, 409, "event_not_awaited"),
        ("post", "/wf/pizza/o1/no_such_event", None, 404, "unknown_event"),
        ("post", "/wf/pizza/o1/cart_timeout", None, 404, "unknown_event"),
        ("post", "/wf/pizza/nope/add", {"name": "x", "qty": 1}, 404, "instance_not_found"),
        ("post", "/wf/nope/o1/add", None, 404, "unknown_workflow"),
        ("post", "/wf/pizza/o1", {}, 409, "instance_exists"),
        ("post", "/wf/pizza/o2", {"timeouts": {"cart": -1}}, 422, "invalid_data"),
        ("post", "/wf/pizza/o2", [1, 2], 400, "bad_request"),
        ("post", "/wf/pizza/o2", {"timeouts": {"cart": 1e12}}, 422, "invalid_data"),
        ("post", "/wf/pizza/o2", {"timeout": {"cart": 2}}, 422, "invalid_data"),  # a typo
        ("get", "/wf/pizza/bad%20id", None, 400, "bad_request"),
        ("get", "/wf/pizza?limit=1000", None, 400, "bad_request"),
        ("get", "/wf/pizza?status=Sleeping", None, 400, "bad_request"),
        ("get", "/nothing/here", None, 404, "not_found"),
        ("put", "/wf/pizza/o1", None, 405, "method_not_allowed"),
        ("post", "/wf/pizza/o1/add", "x" * 5000, 413, "body_too_large"),
    ],
)
def test_bad_requests_get_a_clear_error_and_change_nothing(
    client: FlaskClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    client.post("/wf/pizza/o1")
    before = snapshot(client)
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs = {"data": body, "content_type": "application/json"}
    elif body is not None:
        kwargs = {"json": body}
    resp = getattr(client, method)(path, **kwargs)
    assert resp.status_code == status
    assert error_code(resp) == code
    assert snapshot(client) == before
    assert client.get("/wf/pizza/o2").status_code == 404


def test_event_on_finished_instance_is_409(client: FlaskClient, harness: Harness) -> None:
    client.post("/wf/pizza/o1", json={"timeouts": {"cart": 1}})
    harness.advance(1)
    before = snapshot(client)
    assert before["meta"]["status"] == "Finished"
    resp = client.post("/wf/pizza/o1/add", json={"name": "x", "qty": 1})
    assert (resp.status_code, error_code(resp)) == (409, "workflow_finished")
    unknown = client.post("/wf/pizza/o1/no_such_event")
    assert (unknown.status_code, error_code(unknown)) == (404, "unknown_event")
    assert snapshot(client) == before


def test_idempotency_key_replays_the_first_response(client: FlaskClient) -> None:
    client.post("/wf/pizza/o1")
    headers = {"Idempotency-Key": "req-1"}
    first = client.post("/wf/pizza/o1/add", json={"name": "a", "qty": 1}, headers=headers)
    again = client.post("/wf/pizza/o1/add", json={"name": "a", "qty": 1}, headers=headers)
    assert first.get_json() == again.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(snapshot(client)["state"]["cart"]) == 1
    other = client.post("/wf/pizza/o1/clean", headers=headers)
    assert (other.status_code, error_code(other)) == (409, "idempotency_key_reused")


def _timer(harness: Harness) -> TaskPayload:
    (task,) = [t for t in harness.scheduler.tasks.values() if t.payload.kind is TaskKind.TIMER]
    return task.payload.model_copy(update={"due": None})


def _post_task(client: FlaskClient, body: bytes, signature: str | None) -> Any:
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    return client.post("/tasks", data=body, headers=headers, content_type="application/json")


def test_signed_timer_task_applies_once_then_is_stale(
    client: FlaskClient, harness: Harness
) -> None:
    client.post("/wf/pizza/o1")
    body = _timer(harness).model_dump_json().encode()
    first = _post_task(client, body, sign(SECRET, body))
    assert (first.status_code, first.get_json()) == (200, {"outcome": "applied"})
    after = snapshot(client)
    assert after["state"]["status"] == "cart expired"
    second = _post_task(client, body, sign(SECRET, body))
    assert (second.status_code, second.get_json()) == (200, {"outcome": "stale"})
    assert snapshot(client) == after


@pytest.mark.parametrize("signature", [None, "", "sha256=00", sign("wrong-secret", b"{}")])
def test_unsigned_or_forged_task_is_403(
    client: FlaskClient, harness: Harness, signature: str | None
) -> None:
    client.post("/wf/pizza/o1")
    before = snapshot(client)
    body = _timer(harness).model_dump_json().encode()
    resp = _post_task(client, body, signature)
    assert (resp.status_code, error_code(resp)) == (403, "forbidden")
    assert snapshot(client) == before


def test_tampered_task_body_is_403(client: FlaskClient, harness: Harness) -> None:
    client.post("/wf/pizza/o1")
    body = _timer(harness).model_dump_json().encode()
    signature = sign(SECRET, body)
    tampered = body.replace(b'"o1"', b'"o2"')
    assert _post_task(client, tampered, signature).status_code == 403


def _task(**fields: Any) -> bytes:
    base = {"kind": "timer", "workflow": "pizza", "id": "o1", "pc": 1, "event": "cart_timeout"}
    return json.dumps(base | fields).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        b"[]",
        json.dumps({"kind": "timer"}).encode(),
        b'{"kind":"nope"}',
        _task(due="2999-01-01T00:00:00"),  # no time zone
        _task(id="a/b"),
        _task(workflow=""),
    ],
)
def test_malformed_task_body_is_400(client: FlaskClient, body: bytes) -> None:
    resp = _post_task(client, body, sign(SECRET, body))
    assert (resp.status_code, error_code(resp)) == (400, "bad_request")


def test_a_task_of_an_unserved_workflow_is_stale_without_an_instance(
    client: FlaskClient, harness: Harness
) -> None:
    body = _task(workflow="retired")
    resp = _post_task(client, body, sign(SECRET, body))
    assert (resp.status_code, resp.get_json()) == (200, {"outcome": "stale"})
    client.post("/wf/pizza/o1")  # a live instance of a workflow the deployment lacks: retried
    doc = harness.store.get("pizza", "o1")
    assert doc is not None
    harness.store._docs[("retired", "o1")] = doc.model_copy(
        update={"workflow": "retired"}
    ).model_dump_json()
    resp = _post_task(client, body, sign(SECRET, body))
    assert (resp.status_code, error_code(resp)) == (404, "unknown_workflow")


def test_busy_instance_answers_503_with_retry_after_and_applies_nothing(
    client: FlaskClient, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post("/wf/pizza/o1")
    before = snapshot(client)

    def always_busy(workflow: str, id: str, fn: Any) -> Any:
        raise Contention(workflow, id, 10)

    with monkeypatch.context() as m:
        m.setattr(harness.store, "transact", always_busy)
        resp = client.post("/wf/pizza/o1/add", json={"name": "a", "qty": 1})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert error_code(resp) == "contention"
    assert snapshot(client) == before
