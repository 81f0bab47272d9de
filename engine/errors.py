"""Every error the kit raises on purpose.

One base, :class:`WorkflowError`; each subclass takes structured arguments and builds its own
message. ``code`` is a stable machine-readable string; the HTTP layer maps each class to a
status in one table (``engine.http_errors``), so nothing else decides status codes.
"""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    """Base of every error the engine and runtime raise on purpose."""

    code = "workflow_error"
    """Stable, machine-readable error code (part of the HTTP error body)."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        """Human-readable description of the problem."""
        self.details = details
        """Structured fields (instance id, statement name, ...) for logs and error bodies."""


class DefinitionError(WorkflowError):
    """A workflow definition is malformed (duplicate names, a loop that cannot stop, ...)."""

    code = "invalid_definition"

    def __init__(self, problem: str, *, statement: str = "", workflow: str = "") -> None:
        where = f" at statement {statement!r}" if statement else ""
        of = f" of workflow {workflow!r}" if workflow else ""
        super().__init__(
            f"invalid definition{of}{where}: {problem}",
            statement=statement,
            workflow=workflow,
        )
        self.statement = statement
        """Name of the offending statement ("" when it has none)."""
        self.problem = problem
        """What is wrong, without the location."""


class StepFailed(WorkflowError):
    """A step's action raised; its thread stays on the step and the step runs again later."""

    code = "step_failed"

    def __init__(
        self, instance_id: str, step: str, cause: str, attempt: int, thread_id: str = ""
    ) -> None:
        super().__init__(
            f"step {step!r} of instance {instance_id!r} failed (attempt {attempt}): {cause}",
            instance_id=instance_id,
            step=step,
            cause=cause,
            attempt=attempt,
            thread_id=thread_id,
        )
        self.thread_id = thread_id
        """Thread that ran the step."""
        self.instance_id = instance_id
        """Instance whose step failed."""
        self.step = step
        """Name of the failed step."""
        self.cause = cause
        """The exception the action raised, as text."""
        self.attempt = attempt
        """How many times the step has failed in a row (1 for the first failure)."""
        self.threads: tuple[str, ...] = (thread_id,)
        """Every thread whose step (or WaitFor handler) failed in the same run, this one
        first: each needs its retry."""


class StatementNotFound(WorkflowError):
    """A thread sits on a statement name that the current definition no longer has."""

    code = "statement_not_found"

    def __init__(self, instance_id: str, statement: str, thread_id: str = "") -> None:
        super().__init__(
            f"instance {instance_id!r}: thread {thread_id!r} sits on statement {statement!r}, "
            "which the current definition does not contain (repair the instance)",
            instance_id=instance_id,
            statement=statement,
            thread_id=thread_id,
        )
        self.statement = statement
        """The missing statement name."""


class TooManyMoves(WorkflowError):
    """One resume made more moves than allowed: the definition loops without waiting."""

    code = "too_many_moves"

    def __init__(self, instance_id: str, limit: int) -> None:
        super().__init__(
            f"instance {instance_id!r} made more than {limit} moves in one resume",
            instance_id=instance_id,
            limit=limit,
        )


class ThreadExists(WorkflowError):
    """A ``Go`` statement tried to start a thread whose id is already running."""

    code = "thread_exists"

    def __init__(self, instance_id: str, thread_id: str) -> None:
        super().__init__(
            f"instance {instance_id!r} already runs a thread with id {thread_id!r} "
            "(use Go(...).WithID(...) to start one thread per item)",
            instance_id=instance_id,
            thread_id=thread_id,
        )


class UnknownEvent(WorkflowError):
    """The workflow's definition has no wait case with this event name."""

    code = "unknown_event"

    def __init__(self, instance_id: str, event: str) -> None:
        super().__init__(
            f"instance {instance_id!r}: the workflow has no event {event!r}",
            instance_id=instance_id,
            event=event,
        )


class EventNotAwaited(WorkflowError):
    """The event exists, but no thread waits for it now."""

    code = "event_not_awaited"

    def __init__(self, instance_id: str, event: str, thread_id: str | None = None) -> None:
        on = f" on thread {thread_id!r}" if thread_id else ""
        super().__init__(
            f"instance {instance_id!r} is not waiting for event {event!r}{on} now",
            instance_id=instance_id,
            event=event,
            thread_id=thread_id,
        )


class AmbiguousEvent(WorkflowError):
    """Several threads wait for the event and the caller did not say which one."""

    code = "ambiguous_event"

    def __init__(self, instance_id: str, event: str, thread_ids: list[str]) -> None:
        super().__init__(
            f"instance {instance_id!r}: threads {thread_ids} all wait for event {event!r}; "
            "name one with the thread id",
            instance_id=instance_id,
            event=event,
            thread_ids=thread_ids,
        )


class StaleCallback(WorkflowError):
    """A callback names a program counter that is not the wait's current one."""

    code = "stale_callback"

    def __init__(self, instance_id: str, event: str, pc: int, current: int) -> None:
        super().__init__(
            f"instance {instance_id!r}: callback for event {event!r} at pc {pc} is stale "
            f"(the wait is at pc {current})",
            instance_id=instance_id,
            event=event,
            pc=pc,
            current=current,
        )


class WorkflowFinished(WorkflowError):
    """The instance has finished; it accepts no more events."""

    code = "workflow_finished"

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"instance {instance_id!r} has finished", instance_id=instance_id)


class InvalidInput(WorkflowError):
    """An event's input does not match the handler's declared type."""

    code = "invalid_input"

    def __init__(self, instance_id: str, event: str, errors: list[dict[str, Any]]) -> None:
        summary = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(input)'}: {e.get('msg', '')}"
            for e in errors
        )
        super().__init__(
            f"instance {instance_id!r}: invalid input for event {event!r}: {summary}",
            instance_id=instance_id,
            event=event,
            errors=errors,
        )
        self.errors = errors
        """Validation errors in pydantic's JSON-able form."""


class HandlerFailed(WorkflowError):
    """An event handler raised: the event is rejected and nothing changes."""

    code = "handler_failed"

    def __init__(self, instance_id: str, event: str, cause: str) -> None:
        super().__init__(
            f"instance {instance_id!r}: handler of event {event!r} rejected it: {cause}",
            instance_id=instance_id,
            event=event,
            cause=cause,
        )


class SetupFailed(WorkflowError):
    """A custom handler's ``setup`` raised while a wait began: the wait is not set up, and
    the runtime applies nothing (a retry sets it up again)."""

    code = "setup_failed"

    def __init__(self, instance_id: str, wait: str, event: str, cause: str) -> None:
        super().__init__(
            f"instance {instance_id!r}: setting up event {event!r} of wait {wait!r} failed: "
            f"{cause}",
            instance_id=instance_id,
            wait=wait,
            event=event,
            cause=cause,
        )


class TimeoutTooLong(WorkflowError):
    """A ``Timeout`` asks for a timer further ahead than the runtime can keep."""

    code = "timeout_too_long"

    def __init__(self, instance_id: str, event: str, seconds: float, limit: float) -> None:
        super().__init__(
            f"instance {instance_id!r}: timeout {event!r} of {seconds:g} seconds is longer "
            f"than the longest timer, {limit:g} seconds",
            instance_id=instance_id,
            event=event,
            seconds=seconds,
            limit=limit,
        )


class InvalidState(WorkflowError):
    """A stored state or data document does not parse, or a repair would break it."""

    code = "invalid_state"

    def __init__(self, instance_id: str, problem: str) -> None:
        super().__init__(
            f"instance {instance_id!r}: {problem}", instance_id=instance_id, problem=problem
        )


class UnknownWorkflow(WorkflowError):
    """No workflow is registered under this name."""

    code = "unknown_workflow"

    def __init__(self, workflow: str) -> None:
        super().__init__(f"no workflow named {workflow!r}", workflow=workflow)


class InstanceNotFound(WorkflowError):
    """No instance with this id exists for the workflow."""

    code = "instance_not_found"

    def __init__(self, workflow: str, instance_id: str) -> None:
        super().__init__(
            f"workflow {workflow!r} has no instance {instance_id!r}",
            workflow=workflow,
            instance_id=instance_id,
        )


class InstanceExists(WorkflowError):
    """An instance with this id already exists."""

    code = "instance_exists"

    def __init__(self, workflow: str, instance_id: str) -> None:
        super().__init__(
            f"workflow {workflow!r} already has an instance {instance_id!r}",
            workflow=workflow,
            instance_id=instance_id,
        )


class InvalidData(WorkflowError):
    """Initial or replacement data does not match the workflow's model."""

    code = "invalid_data"

    def __init__(self, workflow: str, errors: list[dict[str, Any]]) -> None:
        summary = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(data)'}: {e.get('msg', '')}"
            for e in errors
        )
        super().__init__(
            f"invalid data for workflow {workflow!r}: {summary}", workflow=workflow, errors=errors
        )


class IdempotencyKeyReused(WorkflowError):
    """An ``Idempotency-Key`` came back with another event, input or thread than the first
    time."""

    code = "idempotency_key_reused"

    def __init__(self, instance_id: str, key: str, first_event: str, event: str) -> None:
        what = (
            f"event {first_event!r}, not {event!r}"
            if first_event != event
            else (f"event {event!r} with another input or thread")
        )
        super().__init__(
            f"instance {instance_id!r}: idempotency key {key!r} was first used for {what}",
            instance_id=instance_id,
            key=key,
        )


class Contention(WorkflowError):
    """The instance stayed too busy to update; nothing was applied, retry later."""

    code = "contention"

    def __init__(self, workflow: str, instance_id: str, attempts: int) -> None:
        super().__init__(
            f"instance {instance_id!r} of {workflow!r} is busy: gave up after {attempts} "
            "attempts; nothing was applied, retry later",
            workflow=workflow,
            instance_id=instance_id,
        )


class Unavailable(WorkflowError):
    """A backing service (Firestore, Cloud Tasks) failed transiently; nothing was applied."""

    code = "unavailable"

    def __init__(self, service: str, cause: str) -> None:
        super().__init__(f"{service} is unavailable: {cause}", service=service, cause=cause)


class BadRequest(WorkflowError):
    """The request itself is malformed (bad JSON, bad id, bad query parameter)."""

    code = "bad_request"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)


class InvalidName(BadRequest):
    """A workflow name or instance id outside the allowed alphabet or length."""

    def __init__(self, what: str, value: str) -> None:
        super().__init__(
            f"invalid {what} {value[:60]!r}{'...' if len(value) > 60 else ''}: use letters, "
            "digits, '_', '.', '-' (at most 100, "
            "starting with a letter or digit)"
        )


class BodyTooLarge(WorkflowError):
    """The request body is larger than the configured limit."""

    code = "body_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"request body of {size} bytes exceeds the limit of {limit}", size=size, limit=limit
        )


class Forbidden(WorkflowError):
    """A task or admin call without a valid signature."""

    code = "forbidden"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)


class RouteNotFound(WorkflowError):
    """No route matches the request path."""

    code = "not_found"

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"no route for {method} {path}", method=method, path=path)


class MethodNotAllowed(WorkflowError):
    """The path exists but not with this method."""

    code = "method_not_allowed"

    def __init__(self, method: str, path: str, allowed: list[str]) -> None:
        super().__init__(
            f"{method} is not allowed on {path} (allowed: {', '.join(allowed)})",
            method=method,
            path=path,
            allowed=allowed,
        )


class InvalidRepair(WorkflowError):
    """A repair request does not fit the instance or the current definition."""

    code = "invalid_repair"

    def __init__(self, instance_id: str, problem: str) -> None:
        super().__init__(
            f"instance {instance_id!r}: cannot repair: {problem}",
            instance_id=instance_id,
            problem=problem,
        )


class InstanceTooLarge(WorkflowError):
    """The change would grow the instance past what one Firestore document holds."""

    code = "instance_too_large"

    def __init__(self, instance_id: str, size: int, limit: int) -> None:
        super().__init__(
            f"instance {instance_id!r} would grow to {size} bytes of state and data, over the "
            f"limit of {limit}: keep large data elsewhere and store a reference",
            instance_id=instance_id,
            size=size,
            limit=limit,
        )
