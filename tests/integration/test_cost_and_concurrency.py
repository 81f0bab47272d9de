"""Firestore cost per request (counted on the real client) and concurrent events on one order."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

import workflows.pizza  # noqa: F401  (registers "pizza")
from devstack import FunctionServer
from engine import For, S, Section, Step, Workflow
from engine.firestore_store import FirestoreStore
from engine.registry import Registry, default_registry
from engine.runtime import Service
from engine.testing import MemoryScheduler
from tests.integration._http import get, post

pytestmark = pytest.mark.integration


class CountingApi:
    """Wraps the Firestore GAPIC client and counts documents read and written, and queries."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.counts: Counter[str] = Counter()
        self._mu = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            request = kwargs.get("request") or {}
            with self._mu:
                self.counts[name] += 1
                if name == "batch_get_documents":
                    self.counts["reads"] += len(request.get("documents", []))
                elif name == "commit":
                    self.counts["writes"] += len(request.get("writes", []))
                elif name in ("run_query", "run_aggregation_query"):
                    self.counts["queries"] += 1
            return attr(*args, **kwargs)

        return call


def counting_client(project: str) -> tuple[firestore.Client, CountingApi]:
    credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    client = firestore.Client(project=project, credentials=credentials)
    api = CountingApi(client._firestore_api)
    client._firestore_api_internal = api
    return client, api


class Counter10(Workflow):
    """Ten steps in a loop, committing after each when checkpointing."""

    n: int = 0

    def definition(self) -> Section:
        return S(For("count", self.n < 10, Step("inc", self.inc)))

    def inc(self) -> None:
        self.n += 1


class CheckpointedCounter10(Counter10):
    """The same, with a commit after every step."""

    checkpoint_every_step: ClassVar[bool] = True


def _service(
    project: str, registry: Registry, history: bool = False
) -> tuple[Service, CountingApi]:
    client, api = counting_client(project)
    store = FirestoreStore(client, "cost")
    return Service(store, MemoryScheduler(), registry, history=history), api


def test_an_event_costs_one_read_and_one_write(firestore_env: str) -> None:
    service, api = _service(firestore_env, default_registry)
    service.create("pizza", "o1", None)
    api.counts.clear()
    output, _ = service.send("pizza", "o1", "add", {"name": "margherita", "qty": 1})
    assert output["cart"] == [{"name": "margherita", "qty": 1}]
    assert (api.counts["reads"], api.counts["writes"], api.counts["queries"]) == (1, 1, 0)
    assert api.counts["commit"] == 1


def test_history_adds_one_write_in_the_same_commit(firestore_env: str) -> None:
    service, api = _service(firestore_env, default_registry, history=True)
    service.create("pizza", "o1", None)
    api.counts.clear()
    service.send("pizza", "o1", "add", {"name": "margherita", "qty": 1})
    assert (api.counts["reads"], api.counts["writes"], api.counts["commit"]) == (1, 2, 1)
    assert [e.name for e in service.history("pizza", "o1").items] == ["", "add"]
    # The TTL deletes the document but not its history; a new order o1 starts clean.
    assert isinstance(service.store, FirestoreStore)
    service.store._ref("pizza", "o1").delete()
    service.create("pizza", "o1", None)
    assert [(e.seq, e.kind) for e in service.history("pizza", "o1").items] == [(1, "create")]


def test_checkpointing_costs_one_write_per_step(firestore_env: str) -> None:
    registry = Registry()
    registry.add("plain", Counter10)
    registry.add("checkpointed", CheckpointedCounter10)
    service, api = _service(firestore_env, registry)
    service.create("plain", "c1", None)
    assert api.counts["writes"] == 1
    api.counts.clear()
    view = service.create("checkpointed", "c1", None)
    assert view["state"]["n"] == 10
    assert api.counts["writes"] == 11  # the walk to the first step, then one per step


def _concurrent_adds(bases: list[str], id: str, n: int) -> None:
    assert post(bases[0], f"/wf/pizza/{id}", {}).status_code == 201

    def add(i: int) -> int:
        body = {"name": f"p{i}", "qty": 1}
        return post(bases[i % len(bases)], f"/wf/pizza/{id}/add", body, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = list(pool.map(add, range(n)))
    assert statuses == [200] * n
    cart = get(bases[0], f"/wf/pizza/{id}").json()["state"]["cart"]
    assert sorted(item["name"] for item in cart) == sorted(f"p{i}" for i in range(n))


def test_fifty_concurrent_events_on_one_order_all_land_once(stack: Any, unique_id: str) -> None:
    _concurrent_adds([stack.api], unique_id, 50)


def test_concurrent_events_from_two_processes_serialise_in_firestore(
    stack: Any, unique_id: str
) -> None:
    # Across processes only the transaction serialises; the emulator resolves each conflict
    # slowly (about 2 s), so this uses fewer requests than the in-process test.
    env = {
        "GOOGLE_CLOUD_PROJECT": stack.project,
        "WF_COLLECTION": stack.collection,
        "WF_TASKS_URL": stack.tasks + "/",
        "WF_SIGNING_SECRET": stack.secret,
        "WF_QUEUE": stack.queue_path.rsplit("/", 1)[-1],
        "FIRESTORE_EMULATOR_HOST": stack.firestore_host,
        "CLOUD_TASKS_EMULATOR_HOST": stack.tasks_host,
    }
    with FunctionServer("api", env) as second:
        _concurrent_adds([stack.api, second.url], unique_id, 8)
