"""Fixtures for integration tests: the real emulators and both functions over real HTTP.

Everything starts on free ports, with a unique project, collection and queue per run, and
is stopped afterwards whatever happens.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import FirestoreEmulator, FunctionServer, Service, TasksEmulator, free_port


@dataclass(frozen=True)
class Stack:
    """The running local stack."""

    api: str
    """Base URL of the ``api`` function."""
    tasks: str
    """Base URL of the ``tasks`` function."""
    secret: str
    """The signing secret both functions use."""
    project: str
    """The emulator project."""
    collection: str
    """The Firestore collection of this run."""
    firestore_host: str
    """host:port of the Firestore emulator."""
    tasks_host: str
    """host:port of the Cloud Tasks emulator."""
    queue_path: str
    """The queue of this run."""


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    """The Firestore emulator (session-wide)."""
    emulator = FirestoreEmulator(log_dir=tmp_path_factory.mktemp("firestore"))
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def stack(
    firestore_emulator: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Cloud Tasks emulator plus both functions, wired to the Firestore emulator."""
    run = uuid.uuid4().hex[:8]
    project, location, queue = f"demo-{run}", "us-central1", f"q-{run}"
    queue_path = f"projects/{project}/locations/{location}/queues/{queue}"
    logs: Path = tmp_path_factory.mktemp("stack")
    tasks_emulator = TasksEmulator(queue_path, log_dir=logs)
    tasks_port, secret = free_port(), secrets.token_hex(16)
    env = {
        "GOOGLE_CLOUD_PROJECT": project,
        "WF_LOCATION": location,
        "WF_QUEUE": queue,
        "WF_COLLECTION": f"wf-{run}",
        "WF_TASKS_URL": f"http://127.0.0.1:{tasks_port}/",
        "WF_SIGNING_SECRET": secret,
        "WF_MODULES": "workflows.pizza,tests.integration.served_workflows",
        "FIRESTORE_EMULATOR_HOST": firestore_emulator.host,
        "CLOUD_TASKS_EMULATOR_HOST": tasks_emulator.host,
        "WF_HISTORY": "1",
    }
    tasks_fn = FunctionServer("tasks", env, port=tasks_port, log_dir=logs)
    api_fn = FunctionServer("api", env, log_dir=logs)
    started: list[Service] = []
    try:
        services: list[Service] = [tasks_emulator, tasks_fn, api_fn]
        for service in services:
            service.start()
            started.append(service)
        yield Stack(
            api=api_fn.url,
            tasks=tasks_fn.url,
            secret=secret,
            project=project,
            collection=env["WF_COLLECTION"],
            firestore_host=firestore_emulator.host,
            tasks_host=tasks_emulator.host,
            queue_path=queue_path,
        )
    finally:
        for running in reversed(started):
            running.stop()


@pytest.fixture
def unique_id() -> str:
    """A fresh instance id."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def firestore_env(firestore_emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point in-process Firestore clients at the emulator; returns a unique project id."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    return f"demo-{uuid.uuid4().hex[:8]}"
