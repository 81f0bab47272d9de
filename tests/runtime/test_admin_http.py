"""Admin routes on the tasks function: refused without the secret, validated, recorded."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine.config import Settings
from engine.http import ACTOR_HEADER, ADMIN_HEADER, HttpApp
from engine.testing import Harness

SECRET = "admin-secret"
AUTH = {ADMIN_HEADER: SECRET, ACTOR_HEADER: "alice"}


@pytest.fixture
def harness() -> Harness:
    h = Harness()
    h.create("pizza", "o1")
    return h


@pytest.fixture
def tasks(harness: Harness) -> Iterator[FlaskClient]:
    app = HttpApp(harness.service, Settings(signing_secret=SECRET))
    flask_app = flask.Flask("tasks")

    @flask_app.route("/", defaults={"path": ""}, methods=["GET", "POST", "DELETE"])
    @flask_app.route("/<path:path>", methods=["GET", "POST", "DELETE"])
    def route(path: str) -> flask.Response:
        return app.tasks(flask.request)

    with flask_app.test_client() as c:
        yield c


def view(h: Harness) -> Any:
    return h.get("pizza", "o1")


@pytest.mark.parametrize("headers", [{}, {ADMIN_HEADER: "wrong"}, {ADMIN_HEADER: ""}])
def test_anonymous_or_wrong_secret_is_403(
    tasks: FlaskClient, harness: Harness, headers: dict[str, str]
) -> None:
    before = view(harness)
    resp = tasks.post("/admin/wf/pizza/o1/cancel", headers=headers)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert view(harness) == before
    assert tasks.get("/admin/wf/pizza?position=cart", headers=headers).status_code == 403


def test_list_by_position(tasks: FlaskClient, harness: Harness) -> None:
    harness.create("pizza", "o2")
    harness.send("pizza", "o2", "add", {"name": "a", "qty": 1})
    harness.send("pizza", "o2", "submit")
    at_cart = tasks.get("/admin/wf/pizza?position=cart", headers=AUTH).get_json()
    at_confirmation = tasks.get("/admin/wf/pizza?position=confirmation", headers=AUTH).get_json()
    assert [i["id"] for i in at_cart["items"]] == ["o1"]
    assert [i["id"] for i in at_confirmation["items"]] == ["o2"]


def test_repairs_over_http(tasks: FlaskClient, harness: Harness) -> None:
    resp = tasks.post("/admin/wf/pizza/o1/data", json={"status": "vip"}, headers=AUTH)
    assert resp.status_code == 200 and resp.get_json()["state"]["status"] == "vip"
    bad = tasks.post("/admin/wf/pizza/o1/data", json={"amount": "lots"}, headers=AUTH)
    assert bad.status_code == 422
    goto = tasks.post(
        "/admin/wf/pizza/o1/goto", json={"thread": "_main", "statement": "oven"}, headers=AUTH
    )
    assert goto.status_code == 200 and goto.get_json()["meta"]["threads"][0]["cur"] == "oven"
    missing = tasks.post(
        "/admin/wf/pizza/o1/goto", json={"thread": "_main", "statement": "nowhere"}, headers=AUTH
    )
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "invalid_repair"
    added = tasks.post(
        "/admin/wf/pizza/o1/threads",
        json={"thread": "payment thread", "go": "payment thread"},
        headers=AUTH,
    )
    assert added.status_code == 200
    removed = tasks.delete("/admin/wf/pizza/o1/threads/payment%20thread", headers=AUTH)
    assert removed.status_code == 200
    assert [t["id"] for t in removed.get_json()["meta"]["threads"]] == ["_main"]
    assert tasks.post("/admin/wf/pizza/o1/retry", headers=AUTH).status_code == 422
    cancelled = tasks.post("/admin/wf/pizza/o1/cancel", headers=AUTH)
    assert cancelled.get_json()["meta"]["status"] == "Finished"
    assert tasks.delete("/admin/wf/pizza/o1", headers=AUTH).get_json() == {"purged": "o1"}
    assert tasks.delete("/admin/wf/pizza/o1", headers=AUTH).status_code == 404


def test_repairs_are_recorded_with_the_actor(tasks: FlaskClient, harness: Harness) -> None:
    tasks.post("/admin/wf/pizza/o1/data", json={"status": "vip"}, headers=AUTH)
    (entry,) = harness.history("pizza", "o1").items
    assert (entry.kind, entry.name, entry.actor) == ("repair", "replace_data", "alice")
    assert '"vip"' in entry.input


def _token(claims: dict[str, Any]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"Bearer eyJhbGciOiJSUzI1NiJ9.{part}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("authorization", "actor"),
    [
        (_token({"email": "ops@example.com", "aud": "x"}), "ops@example.com"),
        (_token({"sub": "123"}), "alice"),  # no e-mail in the token: the header names who
        ("Bearer not-a-jwt", "alice"),
        ("Bearer a.%%%.c", "alice"),
    ],
)
def test_the_actor_is_the_identity_tokens_email_when_there_is_one(
    tasks: FlaskClient, harness: Harness, authorization: str, actor: str
) -> None:
    headers = {**AUTH, "Authorization": authorization}
    resp = tasks.post("/admin/wf/pizza/o1/data", json={"status": "vip"}, headers=headers)
    assert resp.status_code == 200
    (entry,) = harness.history("pizza", "o1").items
    assert entry.actor == actor


def test_malformed_admin_requests(tasks: FlaskClient) -> None:
    assert (
        tasks.post("/admin/wf/pizza/o1/goto", json={"thread": "_main"}, headers=AUTH).status_code
        == 400
    )
    assert tasks.post("/admin/wf/pizza/o1/data", json=[1], headers=AUTH).status_code == 400
    assert tasks.post("/admin/wf/pizza/o1/nonsense", json={}, headers=AUTH).status_code == 404
    assert tasks.post("/admin/nothing", headers=AUTH).status_code == 404
