"""The Scheduler on Cloud Tasks: signed HTTP tasks with deterministic names."""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.cloud import tasks_v2
from google.protobuf import timestamp_pb2

from engine._log import log
from engine._signing import SIGNATURE_HEADER, sign
from engine.config import Settings
from engine.errors import Unavailable
from engine.scheduler import TaskSpec


def make_client(settings: Settings) -> tasks_v2.CloudTasksClient:
    """A Cloud Tasks client; talks to the emulator over an insecure channel when configured."""
    if settings.tasks_emulator_host:
        import grpc
        from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

        channel = grpc.insecure_channel(settings.tasks_emulator_host)
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    return tasks_v2.CloudTasksClient()


class CloudTasksScheduler:
    """Creates one HTTP task per ``TaskSpec`` in one queue, targeting the ``tasks`` function."""

    def __init__(
        self,
        client: tasks_v2.CloudTasksClient,
        queue_path: str,
        url: str,
        secret: str,
        service_account: str = "",
    ) -> None:
        if not url:
            raise ValueError("the tasks function URL (WF_TASKS_URL) is not configured")
        if not secret:
            raise ValueError("the signing secret (WF_SIGNING_SECRET) is not configured")
        self.client = client
        """The Cloud Tasks client."""
        self.queue_path = queue_path
        """Full queue resource name."""
        self.url = url
        """Target URL (the tasks function)."""
        self.secret = secret
        """HMAC signing secret."""
        self.service_account = service_account
        """Service account for OIDC tokens ("" locally)."""

    def enqueue(self, task: TaskSpec) -> None:
        body = task.payload.model_dump_json().encode()
        http = tasks_v2.HttpRequest(
            http_method=tasks_v2.HttpMethod.POST,
            url=self.url,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)},
            body=body,
        )
        if self.service_account:
            http.oidc_token = tasks_v2.OidcToken(
                service_account_email=self.service_account, audience=self.url
            )
        eta = timestamp_pb2.Timestamp()
        eta.FromDatetime(task.eta)
        spec = tasks_v2.Task(
            name=f"{self.queue_path}/tasks/{task.name}", http_request=http, schedule_time=eta
        )
        try:
            self.client.create_task(parent=self.queue_path, task=spec)
        except gexc.AlreadyExists:
            pass  # created by an earlier attempt of the same transaction: exactly what we want
        except (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError) as e:
            raise Unavailable("Cloud Tasks", str(e)) from e

    def cancel(self, name: str) -> None:
        try:
            self.client.delete_task(name=f"{self.queue_path}/tasks/{name}")
        except (gexc.NotFound, gexc.MethodNotImplemented, gexc.FailedPrecondition):
            pass  # gone already, or a service (the emulator) that cannot delete
        except gexc.GoogleAPICallError as e:
            log("WARNING", "could not delete task", task=name, error=str(e))
