"""The instance document and the Store interface the runtime persists it through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

MAX_IDEMPOTENCY_KEYS = 20
"""How many recent ``Idempotency-Key`` responses an instance keeps (oldest dropped first)."""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class IdempotentResponse(BaseModel):
    """A response kept so that a repeated request with the same key gets it again."""

    model_config = ConfigDict(extra="forbid")

    key: str
    """The client's ``Idempotency-Key``."""
    event: str
    """The event the key was first used with."""
    body: str
    """The JSON response body that was sent."""


class InstanceDoc(BaseModel):
    """One instance as stored: engine state, workflow data and indexed summary fields.

    ``state`` and ``data`` are kept as JSON text, so any JSON the user's model produces is
    stored exactly (Firestore itself cannot hold nested arrays, for one).
    """

    model_config = ConfigDict(extra="ignore")

    workflow: str
    """Workflow name."""
    id: str
    """Instance id."""
    status: str
    """``State.status``, copied for listing and filtering."""
    state: str
    """The engine ``State`` as JSON."""
    data: str
    """The workflow's data as JSON."""
    waiting: list[str] = Field(default_factory=list)
    """Events the instance waits for now (for listing)."""
    positions: list[str] = Field(default_factory=list)
    """Statement, thread and wait-event names the threads sit on (for safe code changes)."""
    idempotency: list[IdempotentResponse] = Field(default_factory=list)
    """Recent idempotent responses, newest last, at most ``MAX_IDEMPOTENCY_KEYS``."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the instance was created."""
    updated_at: datetime = Field(default_factory=utcnow)
    """When the instance last changed."""

    def remember(self, key: str, event: str, body: str) -> None:
        """Keep a response for ``key``, dropping the oldest beyond the bound."""
        self.idempotency.append(IdempotentResponse(key=key, event=event, body=body))
        del self.idempotency[:-MAX_IDEMPOTENCY_KEYS]

    def recall(self, key: str) -> IdempotentResponse | None:
        """The kept response for ``key``, or None."""
        for r in self.idempotency:
            if r.key == key:
                return r
        return None


Mutation = Callable[[InstanceDoc | None], tuple[InstanceDoc | None, T]]
"""Given the current document (None if absent), return the document to write (None: write
nothing) and a result. It may run more than once (transaction retries) and must only have
side effects that tolerate that."""


class Page(BaseModel):
    """One page of a listing."""

    items: list[InstanceDoc]
    """Instances on this page."""
    next_cursor: str | None = None
    """Pass as ``cursor`` to get the next page; None on the last page."""


class Store(Protocol):
    """Where instance documents live. Every change is one read and one write, atomically."""

    def transact(self, workflow: str, id: str, fn: Mutation[T]) -> T:
        """Run ``fn`` on the current document in a transaction and write what it returns.

        Raises ``Contention`` when the document stayed busy, ``Unavailable`` on transient
        service errors; errors ``fn`` raises abort the transaction and propagate.
        """
        ...

    def get(self, workflow: str, id: str) -> InstanceDoc | None:
        """The document, or None."""
        ...

    def list(
        self,
        workflow: str,
        *,
        status: str | None = None,
        position: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Instances of ``workflow`` ordered by id, optionally filtered by status or by a
        name in ``positions``."""
        ...


def doc_fields(doc: InstanceDoc) -> dict[str, Any]:
    """The document as a plain dict for a database write."""
    return doc.model_dump(mode="python")
