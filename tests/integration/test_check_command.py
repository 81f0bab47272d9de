"""``python -m engine.check`` on the emulator: instances parked on a removed statement or left
by a workflow no longer registered, and a clear exit 2 when it cannot check."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from engine import OnEvent, S, Section, Step, Wait, Workflow
from engine.check import NOT_IN_LIMIT, find_unregistered
from engine.firestore_store import FirestoreStore
from engine.registry import Registry
from engine.runtime import Service
from engine.testing import MemoryScheduler
from tests.kit._fake_gcloud import fake_gcloud, run_deploy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class DocV1(Workflow):
    """The deployed code: instances wait at 'review'."""

    def definition(self) -> Section:
        return S(Step("start", lambda: None), Wait("review", OnEvent("approve", lambda: None)))


class Legacy(Workflow):
    """A workflow whose module the check's WF_MODULES no longer include."""

    def definition(self) -> Section:
        return S(Wait("hold", OnEvent("go", lambda: None)))


def emulator_client(project: str) -> firestore.Client:
    return firestore.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )


def run_check(
    firestore_host: str, project: str, collection: str, **extra: str | None
) -> subprocess.CompletedProcess[str]:
    """Run the check as deploy.sh does; ``extra`` sets variables (None: unsets them)."""
    env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "GOOGLE_CLOUD_PROJECT": project,
        "WF_COLLECTION": collection,
        "WF_MODULES": "tests.integration.changed_code",
    }
    for key, value in extra.items():
        env.pop(key, None)
        if value is not None:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-m", "engine.check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_lists_stranded_instances_and_exits_1(firestore_env: str) -> None:
    collection = f"check-{uuid.uuid4().hex[:8]}"
    client = emulator_client(firestore_env)
    registry = Registry()
    registry.add("doc", DocV1)
    service = Service(FirestoreStore(client, collection), MemoryScheduler(), registry)
    host = os.environ["FIRESTORE_EMULATOR_HOST"]

    assert run_check(host, firestore_env, collection).returncode == 0  # nothing stored yet
    service.create("doc", "parked", None)
    service.create("doc", "done", None)
    service.send("doc", "done", "approve", None)

    result = run_check(host, firestore_env, collection)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "doc/parked: thread '_main' sits on statement 'review'" in result.stdout
    assert "doc/done" not in result.stdout


def test_check_lists_unfinished_instances_of_unregistered_workflows(
    firestore_env: str, tmp_path: Path
) -> None:
    collection = f"check-{uuid.uuid4().hex[:8]}"
    registry = Registry()
    registry.add("legacy", Legacy)
    service = Service(
        FirestoreStore(emulator_client(firestore_env), collection), MemoryScheduler(), registry
    )
    service.create("legacy", "stuck", None)
    service.create("legacy", "over", None)
    service.send("legacy", "over", "go", None)

    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    result = run_check(host, firestore_env, collection)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "legacy/stuck: workflow 'legacy' is not registered" in result.stdout
    assert "legacy/over" not in result.stdout  # finished: nothing to strand

    fake = fake_gcloud(tmp_path, existing=True)  # deploy.sh runs the same check and stops
    deploy = run_deploy(
        fake,
        *("--project", firestore_env, "--collection", collection),
        *("--modules", "tests.integration.changed_code"),
        env={"FIRESTORE_EMULATOR_HOST": host},
    )
    assert deploy.returncode == 1, deploy.stdout + deploy.stderr
    assert "legacy/stuck: workflow 'legacy' is not registered" in deploy.stdout
    assert "would be stranded: repair them or use --force" in deploy.stderr
    assert fake.deploys() == []


@pytest.mark.parametrize("registered", [1, NOT_IN_LIMIT + 1])  # not-in query, then fallback
def test_find_unregistered_reads_every_unfinished_status_page_by_page(
    firestore_env: str, registered: int
) -> None:
    client, collection = emulator_client(firestore_env), f"check-{uuid.uuid4().hex[:8]}"
    stored = [
        ("legacy", "r", "Resuming"),
        ("legacy", "w", "Waiting"),
        ("legacy", "f", "Failed"),
        ("legacy", "done", "Finished"),
        ("old", "w2", "Waiting"),
        ("kept0", "w3", "Waiting"),
    ]
    for workflow, id, status in stored:
        doc = {"workflow": workflow, "id": id, "status": status}
        client.collection(collection).document(f"{workflow}:{id}").set(doc)
    registry = Registry()
    for n in range(registered):
        registry.add(f"kept{n}", Legacy)

    orphans = find_unregistered(registry, client, collection, page_size=1)
    assert sorted((o.workflow, o.id, o.thread) for o in orphans) == [
        ("legacy", "f", ""),
        ("legacy", "r", ""),
        ("legacy", "w", ""),
        ("old", "w2", ""),
    ]
    assert {o.line() for o in orphans if o.id == "w2"} == {
        "old/w2: workflow 'old' is not registered"
    }


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            {
                "FIRESTORE_EMULATOR_HOST": None,
                "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent.json",
            },
            "no Google Cloud credentials",
        ),
        ({"WF_MODULES": "tests.integration.no_such_module"}, "cannot import"),
    ],
)
def test_check_that_cannot_run_exits_2_with_one_line(
    firestore_env: str, extra: dict[str, str | None], reason: str
) -> None:
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    result = run_check(host, firestore_env, "unused", **extra)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and reason in result.stderr, result.stderr
