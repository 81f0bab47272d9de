"""Safe code changes: list instances whose position no longer exists in the current code.

    python -m engine.check            # uses the same environment as the functions

Exit status 1 when any instance sits on a statement, thread or wait event that the current
definitions do not have (deploying then would strand it); 0 otherwise. ``deploy/deploy.sh``
runs it before deploying.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

from engine._describe import sample
from engine._shape import Shape, build_shape
from engine.config import Settings
from engine.registry import Registry, default_registry
from engine.state import MAIN_THREAD, State
from engine.store import Store


@dataclass(frozen=True)
class Orphan:
    """An instance position the code no longer has."""

    workflow: str
    """Workflow name."""
    id: str
    """Instance id."""
    thread: str
    """Thread id."""
    missing: str
    """The missing name, with its kind (statement / thread / wait event)."""


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
        for status in ("Resuming", "Waiting", "Failed"):
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


def main(argv: list[str] | None = None) -> int:
    """Check the instances in the configured Firestore collection; print the orphans."""
    from google.cloud import firestore

    from engine.firestore_store import FirestoreStore

    settings = Settings.from_env()
    for module in settings.modules:
        importlib.import_module(module)
    store = FirestoreStore(firestore.Client(project=settings.project), settings.collection)
    orphans = find_orphans(default_registry, store)
    for o in orphans:
        print(f"{o.workflow}/{o.id}: thread {o.thread!r} sits on {o.missing}, gone from the code")
    if orphans:
        print(f"{len(orphans)} position(s) would be stranded: repair or migrate them first")
        return 1
    print("every in-flight instance sits on a position the code still has")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
