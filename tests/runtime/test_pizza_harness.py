"""The pizza workflow on the in-memory harness: every branch, timers in simulated time."""

from __future__ import annotations

from typing import Any

import pytest

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine.testing import Harness

PAYMENT = {"paid_amount": 12.5, "delivery_address": "1 Main St"}


def submitted(h: Harness, id: str, data: dict[str, Any] | None = None) -> None:
    h.create("pizza", id, data)
    h.send("pizza", id, "add", {"name": "margherita", "qty": 2})
    h.send("pizza", id, "submit")


def status(h: Harness, id: str) -> tuple[str, str]:
    v = h.get("pizza", id)
    return v["meta"]["status"], v["state"]["status"]


def test_happy_path_completes_when_paid() -> None:
    h = Harness()
    submitted(h, "o1")
    order = h.send("pizza", "o1", "confirm", {"manager_name": "Ann", "amount": 12.5})
    assert order["status"] == "confirmed" and order["manager_name"] == "Ann"
    for event, body in [
        ("start_cooking", {"cook_name": "Bob"}),
        ("cooked", None),
        ("take_for_delivery", None),
        ("delivered", None),
    ]:
        h.send("pizza", "o1", event, body)
    assert status(h, "o1") == ("Waiting", "delivered")  # waits for payment
    paid = h.send("pizza", "o1", "confirm_payment", PAYMENT)
    assert paid["paid_amount"] == 12.5 and paid["location"] == "1 Main St"
    assert status(h, "o1") == ("Finished", "completed")


def test_payment_in_parallel_thread_before_cooking() -> None:
    h = Harness()
    submitted(h, "o1")
    h.send("pizza", "o1", "confirm", {"manager_name": "Ann", "amount": 10})
    threads = {t["id"] for t in h.get("pizza", "o1")["meta"]["threads"]}
    assert threads == {"_main", "payment thread"}
    h.send("pizza", "o1", "confirm_payment", PAYMENT)
    assert {t["id"] for t in h.get("pizza", "o1")["meta"]["threads"]} == {"_main"}
    for event, body in [
        ("start_cooking", {"cook_name": "Bob"}),
        ("cooked", None),
        ("take_for_delivery", None),
    ]:
        h.send("pizza", "o1", event, body)
    assert status(h, "o1") == ("Waiting", "delivering")
    h.send("pizza", "o1", "delivered")
    assert status(h, "o1") == ("Finished", "completed")


def test_add_and_clean_edit_the_cart() -> None:
    h = Harness()
    h.create("pizza", "o1")
    h.send("pizza", "o1", "add", {"name": "a", "qty": 1})
    h.send("pizza", "o1", "add", {"name": "b", "qty": 3})
    assert [i["name"] for i in h.get("pizza", "o1")["state"]["cart"]] == ["a", "b"]
    assert h.send("pizza", "o1", "clean")["cart"] == []


def test_default_cart_timeout_is_24_hours() -> None:
    h = Harness()
    h.create("pizza", "o1")
    h.advance(24 * 3600 - 1)
    assert status(h, "o1") == ("Waiting", "setup")
    h.advance(1)
    assert status(h, "o1") == ("Finished", "cart expired")


def _to_confirmed(h: Harness) -> None:
    h.send("pizza", "o1", "confirm", {"manager_name": "Ann", "amount": 10})


def _to_cooking(h: Harness) -> None:
    _to_confirmed(h)
    h.send("pizza", "o1", "start_cooking", {"cook_name": "Bob"})


def _to_cooked(h: Harness) -> None:
    _to_cooking(h)
    h.send("pizza", "o1", "cooked")


def _to_delivering(h: Harness) -> None:
    _to_cooked(h)
    h.send("pizza", "o1", "take_for_delivery")


@pytest.mark.parametrize(
    ("prepare", "seconds", "ended_as"),
    [
        (lambda h: None, 600, "not confirmed"),
        (_to_confirmed, 1800, "not cooked"),
        (_to_cooking, 3600, "burnt"),
        (_to_cooked, 3600, "not picked up"),
        (_to_delivering, 3600, "lost in delivery"),
    ],
)
def test_every_wait_times_out(prepare: Any, seconds: int, ended_as: str) -> None:
    h = Harness()
    submitted(h, "o1")
    prepare(h)
    h.advance(seconds - 1)
    assert status(h, "o1")[0] == "Waiting"
    h.advance(1)
    assert status(h, "o1") == ("Finished", ended_as)
    assert h.get("pizza", "o1")["meta"]["threads"] == []


def test_short_timeout_from_create_body() -> None:
    h = Harness()
    h.create("pizza", "o1", {"timeouts": {"cart": 2}})
    h.advance(2)
    assert status(h, "o1") == ("Finished", "cart expired")
