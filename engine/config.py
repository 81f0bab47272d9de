"""Configuration of the runtime, read from environment variables (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Everything the functions need to know about their surroundings."""

    project: str = "demo-project"
    """GCP project id (``GOOGLE_CLOUD_PROJECT``)."""
    location: str = "us-central1"
    """Cloud Tasks queue location (``WF_LOCATION``)."""
    queue: str = "workflows"
    """Cloud Tasks queue name (``WF_QUEUE``)."""
    collection: str = "workflows"
    """Firestore collection holding one document per instance (``WF_COLLECTION``)."""
    tasks_url: str = ""
    """Public URL of the ``tasks`` function, the target of every task (``WF_TASKS_URL``)."""
    tasks_service_account: str = ""
    """Service account whose OIDC token Cloud Tasks sends (``WF_TASKS_SERVICE_ACCOUNT``);
    empty locally."""
    signing_secret: str = ""
    """HMAC secret for task bodies (``WF_SIGNING_SECRET``); required by the ``tasks``
    function."""
    modules: tuple[str, ...] = ("workflows.pizza",)
    """Modules imported at start-up so that their workflows register (``WF_MODULES``,
    comma-separated)."""
    max_body_bytes: int = 65536
    """Largest request body accepted; larger ones get 413 (``WF_MAX_BODY_BYTES``)."""
    moves_per_request: int = 1000
    """Moves one request may make before it commits and continues in a resume task
    (``WF_MOVES_PER_REQUEST``)."""
    seconds_per_request: float = 20.0
    """Resume time one request may spend before it commits and continues in a resume task
    (``WF_SECONDS_PER_REQUEST``)."""
    history: bool = False
    """Append one history entry per request, in the same commit (``WF_HISTORY=1``)."""
    retention_days: float = 30
    """Days a finished instance is kept before the Firestore TTL deletes it
    (``WF_RETENTION_DAYS``)."""
    history_retention_days: float = 365
    """Days a history entry is kept before the Firestore TTL deletes it
    (``WF_HISTORY_RETENTION_DAYS``)."""
    tasks_emulator_host: str = ""
    """host:port of a Cloud Tasks emulator (``CLOUD_TASKS_EMULATOR_HOST``); when set, the
    Cloud Tasks client talks to it over an insecure channel."""
    firestore_emulator_host: str = ""
    """host:port of the Firestore emulator (``FIRESTORE_EMULATOR_HOST``, read by the
    client library itself)."""

    @property
    def queue_path(self) -> str:
        """Full resource name of the queue."""
        return f"projects/{self.project}/locations/{self.location}/queues/{self.queue}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default: the process environment), defaults elsewhere."""
        e = os.environ if env is None else env
        d = cls()
        modules = e.get("WF_MODULES")
        return cls(
            project=e.get("GOOGLE_CLOUD_PROJECT") or e.get("GCLOUD_PROJECT") or d.project,
            location=e.get("WF_LOCATION") or d.location,
            queue=e.get("WF_QUEUE") or d.queue,
            collection=e.get("WF_COLLECTION") or d.collection,
            tasks_url=e.get("WF_TASKS_URL", d.tasks_url),
            tasks_service_account=e.get("WF_TASKS_SERVICE_ACCOUNT", ""),
            signing_secret=e.get("WF_SIGNING_SECRET", ""),
            modules=tuple(m.strip() for m in modules.split(",") if m.strip())
            if modules is not None
            else d.modules,
            max_body_bytes=int(e.get("WF_MAX_BODY_BYTES") or d.max_body_bytes),
            moves_per_request=int(e.get("WF_MOVES_PER_REQUEST") or d.moves_per_request),
            seconds_per_request=float(e.get("WF_SECONDS_PER_REQUEST") or d.seconds_per_request),
            history=e.get("WF_HISTORY", "").lower() in ("1", "true", "yes", "on"),
            retention_days=float(e.get("WF_RETENTION_DAYS") or d.retention_days),
            history_retention_days=float(
                e.get("WF_HISTORY_RETENTION_DAYS") or d.history_retention_days
            ),
            tasks_emulator_host=e.get("CLOUD_TASKS_EMULATOR_HOST", ""),
            firestore_emulator_host=e.get("FIRESTORE_EMULATOR_HOST", ""),
        )
