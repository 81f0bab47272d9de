"""The tasks function over real HTTP: signed deliveries, duplicates, stale and forged tasks,
step retries through real Cloud Tasks; and the api's error codes on the real stack."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from engine._signing import SIGNATURE_HEADER, sign
from engine.scheduler import TaskKind, TaskPayload
from tests.integration._http import eventually, get, post

pytestmark = pytest.mark.integration


def instance(stack: Any, workflow: str, id: str) -> Any:
    return get(stack.api, f"/wf/{workflow}/{id}").json()


def deliver(stack: Any, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return requests.post(stack.tasks + "/", data=body, headers=headers, timeout=30)


def cart_timer(stack: Any, id: str) -> bytes:
    meta = instance(stack, "pizza", id)["meta"]
    (main,) = meta["threads"]
    payload = TaskPayload(
        kind=TaskKind.TIMER,
        workflow="pizza",
        id=id,
        pc=main["pc"],
        thread="_main",
        event="cart_timeout",
    )
    return payload.model_dump_json().encode()


def test_duplicate_timer_applies_once(stack: Any, unique_id: str) -> None:
    post(stack.api, f"/wf/pizza/{unique_id}", {})
    body = cart_timer(stack, unique_id)
    first = deliver(stack, body, sign(stack.secret, body))
    assert (first.status_code, first.json()) == (200, {"outcome": "applied"})
    after = instance(stack, "pizza", unique_id)
    assert after["state"]["status"] == "cart expired"
    again = deliver(stack, body, sign(stack.secret, body))
    assert (again.status_code, again.json()) == (200, {"outcome": "stale"})
    assert instance(stack, "pizza", unique_id) == after


def test_stale_timer_after_the_wait_moved_on_changes_nothing(stack: Any, unique_id: str) -> None:
    post(stack.api, f"/wf/pizza/{unique_id}", {})
    body = cart_timer(stack, unique_id)
    post(stack.api, f"/wf/pizza/{unique_id}/add", {"name": "a", "qty": 1})  # a new wait, new pc
    before = instance(stack, "pizza", unique_id)
    resp = deliver(stack, body, sign(stack.secret, body))
    assert (resp.status_code, resp.json()) == (200, {"outcome": "stale"})
    assert instance(stack, "pizza", unique_id) == before


@pytest.mark.parametrize("forge", ["none", "wrong secret", "tampered"])
def test_forged_task_is_403_and_changes_nothing(stack: Any, unique_id: str, forge: str) -> None:
    post(stack.api, f"/wf/pizza/{unique_id}", {})
    before = instance(stack, "pizza", unique_id)
    body = cart_timer(stack, unique_id)
    signature = {
        "none": None,
        "wrong secret": sign("not-the-secret", body),
        "tampered": sign(stack.secret, body.replace(b'"timer"', b'"resume"')),
    }[forge]
    resp = deliver(stack, body, signature)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
    assert instance(stack, "pizza", unique_id) == before


def test_malformed_task_body_is_400(stack: Any) -> None:
    body = b'{"kind": "timer"}'
    resp = deliver(stack, body, sign(stack.secret, body))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_request"


def test_failed_step_is_retried_by_real_tasks(stack: Any, unique_id: str) -> None:
    created = post(stack.api, f"/wf/flaky/{unique_id}", {"failures": 2})
    assert created.status_code == 201
    meta = created.json()["meta"]
    assert meta["status"] == "Resuming" and meta["threads"][0]["attempts"] == 1

    def settled() -> Any:
        view = instance(stack, "flaky", unique_id)
        return view if view["meta"]["status"] == "Waiting" else None

    view = eventually(settled, timeout=60)
    assert view["state"]["succeeded_on_attempt"] == 2


def test_step_past_its_policy_fails_visibly(stack: Any, unique_id: str) -> None:
    post(stack.api, f"/wf/flaky/{unique_id}", {"failures": 99})

    def failed() -> Any:
        view = instance(stack, "flaky", unique_id)
        return view if view["meta"]["status"] == "Failed" else None

    view = eventually(failed, timeout=60)
    assert "declined on attempt 2" in view["meta"]["error"]
    assert view["meta"]["threads"][0]["attempts"] == 3


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/wf/pizza/{id}/add", b"{nope", 400, "bad_request"),
        ("/wf/pizza/{id}/add", b'{"name": "x", "qty": -1}', 422, "invalid_input"),
        ("/wf/pizza/{id}/cooked", b"", 409, "event_not_awaited"),
        ("/wf/pizza/{id}/cart_timeout", b"", 404, "unknown_event"),
        ("/wf/pizza/{id}", b"{}", 409, "instance_exists"),
        ("/wf/nope/{id}", b"{}", 404, "unknown_workflow"),
        ("/wf/pizza/{id}/add", b"x" * 70000, 413, "body_too_large"),
    ],
)
def test_api_errors_change_nothing(
    stack: Any, unique_id: str, path: str, body: bytes, status: int, code: str
) -> None:
    post(stack.api, f"/wf/pizza/{unique_id}", {})
    before = instance(stack, "pizza", unique_id)
    resp = requests.post(
        stack.api + path.format(id=unique_id),
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code
    assert instance(stack, "pizza", unique_id) == before
