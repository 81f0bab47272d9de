"""``python -m engine.check`` on the emulator: an instance parked on a removed statement."""

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
from engine.firestore_store import FirestoreStore
from engine.registry import Registry
from engine.runtime import Service
from engine.testing import MemoryScheduler

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class DocV1(Workflow):
    """The deployed code: instances wait at 'review'."""

    def definition(self) -> Section:
        return S(Step("start", lambda: None), Wait("review", OnEvent("approve", lambda: None)))


def run_check(
    firestore_host: str, project: str, collection: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "GOOGLE_CLOUD_PROJECT": project,
        "WF_COLLECTION": collection,
        "WF_MODULES": "tests.integration.changed_code",
    }
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
    client = firestore.Client(
        project=firestore_env,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
    )
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
