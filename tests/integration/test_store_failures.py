"""FirestoreStore on the emulator when the service misbehaves: a commit whose reply is lost is
applied once, and a request that finally gives up on contention has applied nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

import workflows.pizza  # noqa: F401  (registers "pizza")
from engine.errors import Contention
from engine.firestore_store import FirestoreStore
from engine.registry import default_registry
from engine.runtime import Service
from engine.testing import MemoryScheduler

pytestmark = pytest.mark.integration


class FlakyApi:
    """Wraps the Firestore GAPIC client: ``lose`` commits reach the server but their reply is
    lost; ``abort`` commits are refused as contention."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lose = 0
        self.abort = 0
        self.meanwhile: Callable[[], object] | None = None
        self.commits = 0
        self._mu = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != "commit":
            return attr

        def commit(*args: Any, **kwargs: Any) -> Any:
            with self._mu:
                self.commits += 1
                if self.abort:
                    self.abort -= 1
                    raise gexc.Aborted("contention (injected)")  # type: ignore[no-untyped-call]
            reply = attr(*args, **kwargs)
            with self._mu:
                if self.lose:
                    self.lose -= 1
                    if self.meanwhile is not None:
                        self.meanwhile()  # another process commits before the retry reads
                    raise gexc.ServiceUnavailable("reply lost after the commit (injected)")  # type: ignore[no-untyped-call]
            return reply

        return commit


def _service(project: str, **store_kw: Any) -> tuple[Service, FlakyApi]:
    credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    client = firestore.Client(project=project, credentials=credentials)
    api = FlakyApi(client._firestore_api)
    client._firestore_api_internal = api
    store = FirestoreStore(client, "flaky", base_delay=0.001, **store_kw)
    return Service(store, MemoryScheduler(), default_registry), api


def test_an_event_whose_commit_reply_is_lost_is_applied_once(firestore_env: str) -> None:
    service, api = _service(firestore_env)
    service.create("pizza", "o1", None)
    api.lose = 1
    output, _ = service.send("pizza", "o1", "add", {"name": "once", "qty": 1})
    assert output["cart"] == [{"name": "once", "qty": 1}]
    assert service.get("pizza", "o1")["state"]["cart"] == [{"name": "once", "qty": 1}]
    assert api.commits == 3  # create, the lost one, and the read-only attempt that saw it land


def test_a_lost_reply_is_recognised_after_another_writer_committed(firestore_env: str) -> None:
    service, api = _service(firestore_env)
    other, _ = _service(firestore_env)
    service.create("pizza", "o4", None)
    api.lose = 1
    api.meanwhile = lambda: other.send("pizza", "o4", "add", {"name": "other", "qty": 1})
    service.send("pizza", "o4", "add", {"name": "once", "qty": 1})
    cart = service.get("pizza", "o4")["state"]["cart"]
    assert [item["name"] for item in cart] == ["once", "other"]


def test_a_create_whose_reply_is_lost_answers_created_not_exists(firestore_env: str) -> None:
    service, api = _service(firestore_env)
    api.lose = 1
    view = service.create("pizza", "o2", None)
    assert view["id"] == "o2" and view["state"]["status"] == "setup"


def test_giving_up_on_contention_applies_nothing(firestore_env: str) -> None:
    service, api = _service(firestore_env, attempts=3)
    service.create("pizza", "o3", None)
    before = service.get("pizza", "o3")
    api.abort = 3
    with pytest.raises(Contention):
        service.send("pizza", "o3", "add", {"name": "never", "qty": 1})
    assert service.get("pizza", "o3") == before
    output, _ = service.send("pizza", "o3", "add", {"name": "later", "qty": 1})
    assert output["cart"] == [{"name": "later", "qty": 1}]
