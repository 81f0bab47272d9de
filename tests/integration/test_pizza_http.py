"""The pizza workflow through both functions over real HTTP, on the real emulators."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration._http import eventually, get, post

pytestmark = pytest.mark.integration

PAYMENT = {"paid_amount": 20, "delivery_address": "1 Main St"}


def order(stack: Any, id: str) -> Any:
    resp = get(stack.api, f"/wf/pizza/{id}")
    assert resp.status_code == 200, resp.text
    return resp.json()


def advance(stack: Any, id: str, steps: list[tuple[str, Any]]) -> None:
    for event, body in steps:
        resp = post(stack.api, f"/wf/pizza/{id}/{event}", body)
        assert resp.status_code == 200, (event, resp.text)


SUBMIT = [("add", {"name": "margherita", "qty": 1}), ("submit", None)]
CONFIRM = [("confirm", {"manager_name": "Ann", "amount": 20})]
COOK = [("start_cooking", {"cook_name": "Bob"})]


def test_happy_path(stack: Any, unique_id: str) -> None:
    created = post(stack.api, f"/wf/pizza/{unique_id}", {})
    assert created.status_code == 201, created.text
    assert created.json()["meta"]["status"] == "Waiting"
    added = post(stack.api, f"/wf/pizza/{unique_id}/add", {"name": "margherita", "qty": 2})
    assert added.json()["cart"] == [{"name": "margherita", "qty": 2}]
    advance(stack, unique_id, [("submit", None), *CONFIRM, *COOK])
    advance(stack, unique_id, [("cooked", None), ("take_for_delivery", None), ("delivered", None)])
    assert order(stack, unique_id)["state"]["status"] == "delivered"
    paid = post(stack.api, f"/wf/pizza/{unique_id}/confirm_payment", PAYMENT)
    assert paid.json()["location"] == "1 Main St"
    final = order(stack, unique_id)
    assert (final["meta"]["status"], final["state"]["status"]) == ("Finished", "completed")
    history = get(stack.api, f"/wf/pizza/{unique_id}/history").json()["items"]
    assert [e["name"] for e in history][:3] == ["", "add", "submit"]


def test_payment_thread_runs_in_parallel(stack: Any, unique_id: str) -> None:
    post(stack.api, f"/wf/pizza/{unique_id}", {})
    advance(stack, unique_id, [*SUBMIT, *CONFIRM])
    threads = {t["id"] for t in order(stack, unique_id)["meta"]["threads"]}
    assert threads == {"_main", "payment thread"}
    advance(stack, unique_id, [("confirm_payment", PAYMENT)])
    assert [t["id"] for t in order(stack, unique_id)["meta"]["threads"]] == ["_main"]
    advance(stack, unique_id, [*COOK, ("cooked", None), ("take_for_delivery", None)])
    advance(stack, unique_id, [("delivered", None)])
    assert order(stack, unique_id)["state"]["status"] == "completed"


STAGES: dict[str, tuple[list[tuple[str, Any]], str]] = {
    "cart": ([], "cart expired"),
    "confirm": (SUBMIT, "not confirmed"),
    "start_cooking": ([*SUBMIT, *CONFIRM], "not cooked"),
    "cooked": ([*SUBMIT, *CONFIRM, *COOK], "burnt"),
    "take_for_delivery": ([*SUBMIT, *CONFIRM, *COOK, ("cooked", None)], "not picked up"),
    "delivered": (
        [*SUBMIT, *CONFIRM, *COOK, ("cooked", None), ("take_for_delivery", None)],
        "lost in delivery",
    ),
}


def test_every_timeout_fires_through_a_real_task(stack: Any, unique_id: str) -> None:
    # One order per wait, all driven to their wait first, then every timer runs out.
    for wait, (steps, _) in STAGES.items():
        id = f"{unique_id}-{wait}"
        timeouts = {w: 3600 for w in STAGES} | {wait: 2}
        assert post(stack.api, f"/wf/pizza/{id}", {"timeouts": timeouts}).status_code == 201
        advance(stack, id, steps)
    for wait, (_, ended_as) in STAGES.items():
        id = f"{unique_id}-{wait}"

        def ended(id: str = id) -> Any:
            o = order(stack, id)
            return o if o["meta"]["status"] == "Finished" else None

        final = eventually(ended, timeout=60)
        assert final["state"]["status"] == ended_as
        kinds = [e["kind"] for e in get(stack.api, f"/wf/pizza/{id}/history").json()["items"]]
        assert kinds[-1] == "timer"


def test_listing_filters_by_status(stack: Any, unique_id: str) -> None:
    post(stack.api, f"/wf/pizza/{unique_id}", {})
    listing = get(stack.api, "/wf/pizza?status=Waiting&limit=200").json()
    assert unique_id in [i["id"] for i in listing["items"]]
    listing = get(stack.api, "/wf/pizza?status=Finished&limit=200").json()
    assert unique_id not in [i["id"] for i in listing["items"]]
