"""The instance document and the Store interface the runtime persists it through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

MAX_WRITE_IDS = 8
"""How many recent write ids a document keeps."""

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
    request: str = ""
    """Fingerprint of the first request's event, input and thread (a repeat must match)."""
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
    history_seq: int = 0
    """Number of history entries written so far."""
    expires_at: datetime | None = None
    """When a finished instance may be deleted (the Firestore TTL field)."""
    created_at: datetime = Field(default_factory=utcnow)
    """When the instance was created."""
    updated_at: datetime = Field(default_factory=utcnow)
    """When the instance last changed."""
    write_ids: list[str] = Field(default_factory=list)
    """Random ids of the transaction attempts that wrote the last versions, newest last: a
    writer whose commit reply was lost looks for its own to tell whether its commit landed
    (also when another writer committed right after it)."""

    def remember(self, key: str, event: str, request: str, body: str) -> None:
        """Keep a response for ``key``, dropping the oldest beyond the bound."""
        kept = IdempotentResponse(key=key, event=event, request=request, body=body)
        self.idempotency.append(kept)
        del self.idempotency[:-MAX_IDEMPOTENCY_KEYS]

    def size(self) -> int:
        """Roughly the bytes the document takes: state, data and kept responses."""
        kept = sum(
            len(r.key) + len(r.event) + len(r.request) + len(r.body) for r in self.idempotency
        )
        return len(self.state) + len(self.data) + kept

    def fit(self, limit: int) -> bool:
        """Drop the oldest kept responses (never the newest) until ``size() <= limit``;
        whether it fits."""
        while self.size() > limit and len(self.idempotency) > 1:
            del self.idempotency[0]
        return self.size() <= limit

    def recall(self, key: str) -> IdempotentResponse | None:
        """The kept response for ``key``, or None."""
        for r in self.idempotency:
            if r.key == key:
                return r
        return None


class HistoryEntry(BaseModel):
    """One request's or repair's record in an instance's history (a subcollection)."""

    model_config = ConfigDict(extra="ignore")

    seq: int
    """Position in the history, from 1."""
    at: datetime
    """When it was committed."""
    kind: str
    """``create``, ``event``, ``timer``, ``retry``, ``resume`` or ``repair``."""
    name: str = ""
    """The event, or the repair operation."""
    input: str = "null"
    """The request input as JSON."""
    output: str = "null"
    """The response as JSON."""
    moves: int = 0
    """How far the program counter moved."""
    status: str = ""
    """The instance's status afterwards."""
    error: str = ""
    """The instance's error afterwards (e.g. a failed step)."""
    actor: str = ""
    """Who asked, when known (repairs)."""
    expires_at: datetime | None = None
    """When the entry may be deleted (the Firestore TTL field of the ``history`` collection
    group; TTL does not delete a deleted instance's subcollection, so entries carry their own)."""


@dataclass(frozen=True)
class Change:
    """What one transaction writes."""

    doc: InstanceDoc | None
    """The document to write (None: leave it)."""
    history: tuple[HistoryEntry, ...] = ()
    """Entries to add to the instance's history in the same commit."""
    delete: bool = False
    """Delete the document (and its history) instead."""


Mutation = Callable[[InstanceDoc | None], tuple[Change | None, T]]
"""Given the current document (None if absent), return what to write (None: nothing) and a
result. It may run more than once (transaction retries) and must only have side effects that
tolerate that."""


class HistoryPage(BaseModel):
    """One page of an instance's history."""

    items: list[HistoryEntry]
    """Entries, oldest first."""
    next_cursor: int | None = None
    """Pass as ``after`` to get the next page; None on the last page."""

    @classmethod
    def of(cls, fetched: list[HistoryEntry], limit: int) -> HistoryPage:
        """The page from up to ``limit + 1`` fetched entries (one more means more pages)."""
        items = fetched[:limit]
        more = len(fetched) > limit and bool(items)
        return cls(items=items, next_cursor=items[-1].seq if more else None)


class Page(BaseModel):
    """One page of a listing."""

    items: list[InstanceDoc]
    """Instances on this page."""
    next_cursor: str | None = None
    """Pass as ``cursor`` to get the next page; None on the last page."""

    @classmethod
    def of(cls, fetched: list[InstanceDoc], limit: int) -> Page:
        """The page from up to ``limit + 1`` fetched documents (one more means more pages)."""
        items = fetched[:limit]
        more = len(fetched) > limit and bool(items)
        return cls(items=items, next_cursor=items[-1].id if more else None)


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

    def history(
        self, workflow: str, id: str, *, after: int = 0, upto: int, limit: int = 50
    ) -> HistoryPage:
        """History entries with ``after < seq <= upto``, oldest first (``upto``: the instance's
        ``history_seq``, so entries left by an earlier instance with the same id never show)."""
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
