"""The pizza-ordering workflow (after gorchestrate's pizzaapp), registered as ``pizza``.

An order fills a cart, is confirmed by a manager, cooked, delivered and paid; every wait
has a timeout (seconds in ``timeouts``, overridable per order) after which the order ends.
Payment arrives in a parallel thread at any time after confirmation.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from engine import For, Go, OnEvent, Return, S, Section, Step, Timeout, Wait, WaitFor, Workflow
from engine.registry import register


class CartItem(BaseModel):
    """One line of the cart."""

    name: str = Field(min_length=1)
    """Pizza name."""
    qty: int = Field(ge=1, le=100)
    """How many."""


MAX_WAIT = 365 * 24 * 3600
"""No wait of an order lasts longer than a year."""


class Timeouts(BaseModel):
    """Seconds each wait lasts before the order ends by itself."""

    cart: float = Field(24 * 3600, ge=0, le=MAX_WAIT)
    """Filling the cart."""
    confirm: float = Field(10 * 60, ge=0, le=MAX_WAIT)
    """Manager confirmation."""
    start_cooking: float = Field(30 * 60, ge=0, le=MAX_WAIT)
    """Until cooking starts."""
    cooked: float = Field(3600, ge=0, le=MAX_WAIT)
    """Until the pizza is cooked."""
    take_for_delivery: float = Field(3600, ge=0, le=MAX_WAIT)
    """Until a courier takes it."""
    delivered: float = Field(3600, ge=0, le=MAX_WAIT)
    """Until it is delivered."""


class Confirmation(BaseModel):
    """Input of ``confirm``."""

    manager_name: str = Field(min_length=1)
    """Who confirmed."""
    amount: float = Field(gt=0)
    """Price of the order."""


class Payment(BaseModel):
    """Input of ``confirm_payment``."""

    paid_amount: float = Field(gt=0)
    """Amount paid."""
    delivery_address: str = Field(min_length=1)
    """Where to deliver."""


class Cook(BaseModel):
    """Input of ``start_cooking``."""

    cook_name: str = Field(min_length=1)
    """Who cooks."""


@register("pizza")
class Pizza(Workflow):
    """A pizza order."""

    cart: list[CartItem] = Field(default_factory=list)
    """What was ordered."""
    status: str = ""
    """Where the order is: setup, submitted, confirmed, cooking, ..., completed, or why it
    ended."""
    amount: float = 0
    """Price confirmed by the manager."""
    paid_amount: float = 0
    """Amount paid."""
    location: str = ""
    """Delivery address."""
    cook_name: str = ""
    """Who cooks."""
    manager_name: str = ""
    """Who confirmed."""
    timeouts: Timeouts = Field(default_factory=Timeouts)
    """Seconds per wait."""

    def definition(self) -> Section:
        t = self.timeouts
        return S(
            Step("setup", self.setup),
            For(
                "fill cart",
                self.status != "submitted",
                Wait(
                    "cart",
                    OnEvent("add", self.add),
                    OnEvent("clean", self.clean),
                    OnEvent("submit", self.submit),
                    Timeout("cart_timeout", t.cart, self.end("cart expired")),
                ),
            ),
            Wait(
                "confirmation",
                OnEvent("confirm", self.confirm),
                Timeout("confirm_timeout", t.confirm, self.end("not confirmed")),
            ),
            Go("payment thread", Wait("payment", OnEvent("confirm_payment", self.confirm_payment))),
            Wait(
                "cooking",
                OnEvent("start_cooking", self.start_cooking),
                Timeout("start_cooking_timeout", t.start_cooking, self.end("not cooked")),
            ),
            Wait(
                "oven",
                OnEvent("cooked", self.cooked),
                Timeout("cooked_timeout", t.cooked, self.end("burnt")),
            ),
            Wait(
                "pickup",
                OnEvent("take_for_delivery", self.take_for_delivery),
                Timeout(
                    "take_for_delivery_timeout", t.take_for_delivery, self.end("not picked up")
                ),
            ),
            Wait(
                "delivery",
                OnEvent("delivered", self.delivered),
                Timeout("delivered_timeout", t.delivered, self.end("lost in delivery")),
            ),
            WaitFor("paid", self.paid_amount > 0, self.complete),
        )

    def end(self, why: str) -> Section:
        """Steps that close an order that timed out, then end the workflow."""
        return S(
            Step(f"{why}: notify", lambda: self.set_status(why)),
            Return(),
        )

    def set_status(self, status: str) -> None:
        self.status = status

    def setup(self) -> None:
        self.status = "setup"

    def add(self, item: CartItem) -> Pizza:
        self.cart.append(item)
        return self

    def clean(self) -> Pizza:
        self.cart = []
        return self

    def submit(self) -> Pizza:
        if not self.cart:
            raise ValueError("the cart is empty")
        self.status = "submitted"
        return self

    def confirm(self, c: Confirmation) -> Pizza:
        self.manager_name = c.manager_name
        self.amount = c.amount
        self.status = "confirmed"
        return self

    def confirm_payment(self, p: Payment) -> Pizza:
        self.paid_amount = p.paid_amount
        self.location = p.delivery_address
        return self

    def start_cooking(self, c: Cook) -> Pizza:
        self.cook_name = c.cook_name
        self.status = "cooking"
        return self

    def cooked(self) -> Pizza:
        self.status = "cooked"
        return self

    def take_for_delivery(self) -> Pizza:
        self.status = "delivering"
        return self

    def delivered(self) -> Pizza:
        self.status = "delivered"
        return self

    def complete(self) -> None:
        self.status = "completed"
