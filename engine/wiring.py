"""Builds the production objects (Firestore store, Cloud Tasks scheduler, service) from env."""

from __future__ import annotations

import importlib
import threading
from datetime import timedelta

from google.cloud import firestore

from engine.cloud_tasks import CloudTasksScheduler, make_client
from engine.config import Settings
from engine.firestore_store import FirestoreStore
from engine.http import HttpApp
from engine.registry import default_registry
from engine.runtime import Service


def build(settings: Settings) -> HttpApp:
    """Import the workflow modules and wire Firestore, Cloud Tasks and the service."""
    for module in settings.modules:
        importlib.import_module(module)
    store = FirestoreStore(firestore.Client(project=settings.project), settings.collection)
    scheduler = CloudTasksScheduler(
        make_client(settings),
        settings.queue_path,
        settings.tasks_url,
        settings.signing_secret,
        settings.tasks_service_account,
    )
    service = Service(
        store,
        scheduler,
        default_registry,
        moves_per_request=settings.moves_per_request,
        seconds_per_request=settings.seconds_per_request,
        history=settings.history,
        retention=timedelta(days=settings.retention_days),
        history_retention=timedelta(days=settings.history_retention_days),
    )
    return HttpApp(service, settings)


_app: HttpApp | None = None
_lock = threading.Lock()


def app_from_env() -> HttpApp:
    """The process-wide app, built on first use from the environment."""
    global _app
    with _lock:
        if _app is None:
            _app = build(Settings.from_env())
        return _app
