"""Crash injection on the real stack: a request that dies after creating its timer task but
before its commit loses nothing, and the orphan task is harmless when Cloud Tasks delivers it."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine.cloud_tasks import CloudTasksScheduler, make_client
from engine.config import Settings
from engine.firestore_store import FirestoreStore
from engine.registry import default_registry
from engine.runtime import Service
from engine.store import Change, InstanceDoc, Mutation
from tests.integration._http import eventually, get, post

pytestmark = pytest.mark.integration
T = TypeVar("T")


class Crash(Exception):
    """The process dies here."""


class CrashingStore(FirestoreStore):
    """Dies after the mutation ran (timers already enqueued) and before the commit."""

    crash = False

    def transact(self, workflow: str, id: str, fn: Mutation[T]) -> T:
        def dying(doc: InstanceDoc | None) -> tuple[Change | None, T]:
            change, result = fn(doc)
            if self.crash and change is not None:
                raise Crash("died before commit")
            return change, result

        return super().transact(workflow, id, dying)


@pytest.fixture
def crashing(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Service, CrashingStore, CloudTasksScheduler]:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", stack.firestore_host)
    client = firestore.Client(
        project=stack.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
    store = CrashingStore(client, stack.collection)
    settings = Settings(tasks_emulator_host=stack.tasks_host)
    scheduler = CloudTasksScheduler(
        make_client(settings), stack.queue_path, stack.tasks + "/", stack.secret
    )
    return Service(store, scheduler, default_registry), store, scheduler


def test_crash_between_enqueue_and_commit_loses_no_timer(
    stack: Any, unique_id: str, crashing: tuple[Service, CrashingStore, CloudTasksScheduler]
) -> None:
    service, store, scheduler = crashing
    service.create("pizza", unique_id, {"timeouts": {"confirm": 2}})
    service.send("pizza", unique_id, "add", {"name": "a", "qty": 1})
    before = get(stack.api, f"/wf/pizza/{unique_id}").json()

    store.crash = True
    with pytest.raises(Crash):
        service.send("pizza", unique_id, "submit", None)  # its confirm timer is enqueued
    store.crash = False
    assert get(stack.api, f"/wf/pizza/{unique_id}").json() == before

    # The orphan timer exists, comes due, and is delivered to the tasks function, which
    # acknowledges it (2xx: the emulator drops it) and changes nothing.
    def orphans() -> list[str]:
        names = [t.name for t in scheduler.client.list_tasks(parent=stack.queue_path)]
        return [n for n in names if unique_id in n and "confirm_timeout" in n]

    assert len(orphans()) == 1
    history = f"/wf/pizza/{unique_id}/history"
    entries_before = len(get(stack.api, history).json()["items"])
    eventually(lambda: not orphans(), timeout=30)
    assert get(stack.api, f"/wf/pizza/{unique_id}").json() == before
    assert len(get(stack.api, history).json()["items"]) == entries_before

    # The client retries; the committed wait's timer fires through the real queue.
    assert post(stack.api, f"/wf/pizza/{unique_id}/submit").status_code == 200

    def ended() -> Any:
        o = get(stack.api, f"/wf/pizza/{unique_id}").json()
        return o if o["meta"]["status"] == "Finished" else None

    assert eventually(ended, timeout=60)["state"]["status"] == "not confirmed"
