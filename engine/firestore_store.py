"""The Store on Firestore: one document per instance, every change in one transaction.

Contention (the transaction aborted because another one touched the document) is retried
with jittered exponential backoff; giving up raises ``Contention`` and nothing is applied.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any, TypeVar, cast

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from engine._log import log
from engine.errors import Contention, Unavailable
from engine.store import (
    MAX_WRITE_IDS,
    HistoryEntry,
    HistoryPage,
    InstanceDoc,
    Mutation,
    Page,
    doc_fields,
)

T = TypeVar("T")

_CONTENTION = (gexc.Aborted, gexc.Conflict)
_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.ResourceExhausted,
)


class _FnError(Exception):
    """Carries an exception raised by the mutation out of the transaction unchanged."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class FirestoreStore:
    """Instance documents in ``collection``, ids ``<workflow>:<id>``."""

    def __init__(
        self,
        client: firestore.Client,
        collection: str,
        *,
        attempts: int = 10,
        base_delay: float = 0.02,
        max_delay: float = 1.0,
    ) -> None:
        self.client = client
        """The Firestore client."""
        self.collection = collection
        """Collection name."""
        self.attempts = attempts
        """Transaction attempts before giving up with ``Contention``."""
        self.base_delay = base_delay
        """First backoff delay in seconds (doubles per attempt, with full jitter)."""
        self.max_delay = max_delay
        """Largest backoff delay in seconds."""

    def _ref(self, workflow: str, id: str) -> Any:
        return self.client.collection(self.collection).document(f"{workflow}:{id}")

    def transact(self, workflow: str, id: str, fn: Mutation[T]) -> T:
        ref = self._ref(workflow, id)
        # What the latest attempt wrote: its write id (None: a delete) and its result. After
        # a transient error the commit may have landed with its reply lost; the next attempt
        # then finds that write id and answers this result instead of applying fn twice.
        wrote: list[tuple[str | None, T]] = []
        unsure: list[tuple[str | None, T]] = []

        @firestore.transactional
        def once(txn: Any) -> T:
            wrote.clear()
            snap = ref.get(transaction=txn)
            doc = InstanceDoc.model_validate(snap.to_dict()) if snap.exists else None
            if unsure:
                write_id, earlier = unsure[0]
                if (write_id in doc.write_ids) if doc is not None else write_id is None:
                    wrote.append(unsure[0])
                    return earlier
                unsure.clear()
            try:
                change, result = fn(doc)
            except Exception as e:
                raise _FnError(e) from e
            if change is not None:
                if change.delete:
                    txn.delete(ref)
                    wrote.append((None, result))
                elif change.doc is not None:
                    write_id = uuid.uuid4().hex
                    kept = doc.write_ids[-(MAX_WRITE_IDS - 1) :] if doc is not None else []
                    change.doc.write_ids = [*kept, write_id]
                    txn.set(ref, doc_fields(change.doc))
                    wrote.append((write_id, result))
                for entry in change.history:
                    txn.set(self._history_ref(ref, entry.seq), entry.model_dump(mode="python"))
            return result

        last: Exception | None = None
        for attempt in range(self.attempts):
            try:
                result = cast(T, once(self.client.transaction(max_attempts=1)))
                if wrote and wrote[0][0] is None:
                    self._delete_history(ref)
                return result
            except _FnError as e:
                raise e.error from None
            except _CONTENTION as e:
                last = e
            except ValueError as e:  # the library's "failed to commit in N attempts"
                last = e
            except _TRANSIENT as e:
                last = e
                if wrote:
                    unsure[:] = wrote
            time.sleep(random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt)))
        if isinstance(last, _TRANSIENT):
            if unsure:  # a commit went out and Firestore never let us look whether it landed
                raise Unavailable("Firestore", f"{last}; whether the request applied is unknown")
            raise Unavailable("Firestore", str(last))
        raise Contention(workflow, id, self.attempts)

    def _delete_history(self, ref: Any) -> None:
        """Delete a purged instance's history (after the commit; a batch at a time). Best
        effort: the purge itself is done, and what is left expires by its TTL."""
        try:
            while True:
                snaps = list(ref.collection("history").limit(200).stream())
                if not snaps:
                    return
                batch = self.client.batch()
                for snap in snaps:
                    batch.delete(snap.reference)
                batch.commit()
        except Exception as e:
            log("WARNING", "history left to its TTL", document=ref.path, error=str(e))

    @staticmethod
    def _history_ref(ref: Any, seq: int) -> Any:
        return ref.collection("history").document(f"{seq:012d}")

    def history(
        self, workflow: str, id: str, *, after: int = 0, upto: int, limit: int = 50
    ) -> HistoryPage:
        q = (
            self._ref(workflow, id)
            .collection("history")
            .where(filter=FieldFilter("seq", ">", after))
            .where(filter=FieldFilter("seq", "<=", upto))
            .order_by("seq")
            .limit(limit + 1)
        )
        try:
            entries = [HistoryEntry.model_validate(s.to_dict()) for s in q.stream()]
        except _TRANSIENT as e:
            raise Unavailable("Firestore", str(e)) from e
        return HistoryPage.of(entries, limit)

    def get(self, workflow: str, id: str) -> InstanceDoc | None:
        try:
            snap = self._ref(workflow, id).get()
        except _TRANSIENT as e:
            raise Unavailable("Firestore", str(e)) from e
        return InstanceDoc.model_validate(snap.to_dict()) if snap.exists else None

    def list(
        self,
        workflow: str,
        *,
        status: str | None = None,
        position: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        q: Any = self.client.collection(self.collection).where(
            filter=FieldFilter("workflow", "==", workflow)
        )
        if status is not None:
            q = q.where(filter=FieldFilter("status", "==", status))
        if position is not None:
            q = q.where(filter=FieldFilter("positions", "array_contains", position))
        q = q.order_by("id")
        if cursor is not None:
            q = q.start_after({"id": cursor})
        try:
            docs = [InstanceDoc.model_validate(s.to_dict()) for s in q.limit(limit + 1).stream()]
        except _TRANSIENT as e:
            raise Unavailable("Firestore", str(e)) from e
        return Page.of(docs, limit)
