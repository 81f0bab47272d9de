"""Safe code changes: list instances whose position no longer exists in the current code.

    python -m engine.check            # uses the same environment as the functions

Exit status 1 when any unfinished instance sits on a statement, thread or wait event that the
current definitions do not have, or belongs to a workflow no longer registered at all (deploying
then would strand it); 2, with one line on stderr, when the check cannot run (no credentials,
Firestore unreachable, a module that fails to import); 0 otherwise. ``deploy/deploy.sh`` runs it
before deploying.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine._describe import sample
from engine._shape import Shape, build_shape
from engine.config import Settings
from engine.registry import Registry, default_registry
from engine.state import MAIN_THREAD, State
from engine.store import Store

UNFINISHED = ("Resuming", "Waiting", "Failed")
"""The statuses of instances that still run, so that code changes can strand them."""

NOT_IN_LIMIT = 10
"""Most values Firestore accepts in a ``not-in`` filter."""


@dataclass(frozen=True)
class Orphan:
    """An instance position the code no longer has."""

    workflow: str
    """Workflow name."""
    id: str
    """Instance id."""
    thread: str
    """Thread id (empty when the whole workflow is gone)."""
    missing: str
    """The missing name, with its kind (statement / thread / wait event / workflow)."""

    def line(self) -> str:
        """One line telling what is gone."""
        if not self.thread:
            return f"{self.workflow}/{self.id}: {self.missing}"
        where = f"thread {self.thread!r} sits on {self.missing}"
        return f"{self.workflow}/{self.id}: {where}, gone from the code"


def _missing(shape: Shape, state: State) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for th in state.threads:
        if th.name != MAIN_THREAD:
            pos = shape.positions.get(th.name)
            if pos is None or pos.kind != "Go":
                out.append((th.id, f"thread {th.name!r}"))
        if th.cur:
            pos = shape.positions.get(th.cur)
            if pos is None or pos.root != th.name:
                out.append((th.id, f"statement {th.cur!r}"))
        for w in th.waits:
            if w.wait not in shape.events.get(w.name, []):
                out.append((th.id, f"wait event {w.wait!r}/{w.name!r}"))
    return out


def find_orphans(registry: Registry, store: Store, page_size: int = 200) -> list[Orphan]:
    """Every unfinished instance position that the registered definitions lack."""
    orphans: list[Orphan] = []
    for name in registry.names():
        shape = build_shape(sample(registry.get(name)).definition(), name)
        for status in UNFINISHED:
            cursor: str | None = None
            while True:
                page = store.list(name, status=status, limit=page_size, cursor=cursor)
                for doc in page.items:
                    state = State.model_validate_json(doc.state)
                    orphans += [Orphan(name, doc.id, t, m) for t, m in _missing(shape, state)]
                cursor = page.next_cursor
                if cursor is None:
                    break
    return orphans


def find_unregistered(
    registry: Registry, client: Any, collection: str, page_size: int = 200
) -> list[Orphan]:
    """Every unfinished instance in ``collection`` whose workflow ``registry`` lacks.

    Finished instances are never read: per unfinished status, a query excludes the registered
    workflows with ``not-in``; with more of them than ``not-in`` takes, the query reads every
    instance of that status and the registered ones are skipped here.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    names = registry.names()
    orphans: list[Orphan] = []
    for status in UNFINISHED:
        query = client.collection(collection).where(filter=FieldFilter("status", "==", status))
        if 0 < len(names) <= NOT_IN_LIMIT:
            query = query.where(filter=FieldFilter("workflow", "not-in", names))
        for snap in _pages(query.select(["workflow", "id"]), page_size):
            fields = snap.to_dict() or {}
            workflow = str(fields.get("workflow", ""))
            if workflow not in names:
                gone = f"workflow {workflow!r} is not registered"
                orphans.append(Orphan(workflow, str(fields.get("id", "")), "", gone))
    return orphans


def _pages(query: Any, page_size: int) -> Iterator[Any]:
    """The query's documents, fetched ``page_size`` at a time (one long stream may time out)."""
    last = None
    while True:
        page = query if last is None else query.start_after(last)
        snaps = list(page.limit(page_size).stream())
        yield from snaps
        if len(snaps) < page_size:
            return
        last = snaps[-1]


class CannotCheck(Exception):
    """The check could not run; the message says why, on one line."""


def _import_modules(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as e:
            raise CannotCheck(f"cannot import {module!r} (WF_MODULES): {_one_line(e)}") from e


def _one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reason(error: Exception) -> str:
    """Why the check could not run, on one line."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import DefaultCredentialsError

    from engine.errors import Unavailable

    if isinstance(error, CannotCheck):
        return str(error)
    if isinstance(error, DefaultCredentialsError):
        return (
            "no Google Cloud credentials (run 'gcloud auth application-default login'): "
            + _one_line(error)
        )
    if isinstance(error, GoogleAPIError | Unavailable):
        return f"Firestore failed: {type(error).__name__}: {_one_line(error)}"
    return f"{type(error).__name__}: {_one_line(error)}"


def _find_all(settings: Settings) -> list[Orphan]:
    """The orphans in the configured Firestore collection."""
    from google.cloud import firestore

    from engine.firestore_store import FirestoreStore

    _import_modules(settings.modules)
    client = firestore.Client(project=settings.project)
    store = FirestoreStore(client, settings.collection)
    return find_orphans(default_registry, store) + find_unregistered(
        default_registry, client, settings.collection
    )


def main(argv: list[str] | None = None) -> int:
    """Check the instances in the configured Firestore collection; print the orphans.

    0: every unfinished instance is safe; 1: orphans found (listed); 2: the check could not
    run (one line on stderr, no traceback).
    """
    try:
        orphans = _find_all(Settings.from_env())
    except Exception as e:
        print(f"engine.check: cannot check the instances: {_reason(e)}", file=sys.stderr)
        return 2
    for o in orphans:
        print(o.line())
    if orphans:
        print(f"{len(orphans)} position(s) would be stranded: repair or migrate them first")
        return 1
    print("every in-flight instance sits on a position the code still has")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
