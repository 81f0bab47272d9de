"""The one table from error class to HTTP status, and the JSON error body."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from engine import errors as e

STATUS: dict[type[e.WorkflowError], int] = {
    e.BadRequest: 400,
    e.Forbidden: 403,
    e.RouteNotFound: 404,
    e.UnknownWorkflow: 404,
    e.InstanceNotFound: 404,
    e.UnknownEvent: 404,
    e.MethodNotAllowed: 405,
    e.InstanceExists: 409,
    e.EventNotAwaited: 409,
    e.AmbiguousEvent: 409,
    e.StaleCallback: 409,
    e.WorkflowFinished: 409,
    e.IdempotencyKeyReused: 409,
    e.StatementNotFound: 409,
    e.ThreadExists: 409,
    e.BodyTooLarge: 413,
    e.InvalidInput: 422,
    e.InvalidData: 422,
    e.HandlerFailed: 422,
    e.InvalidRepair: 422,
    e.InstanceTooLarge: 422,
    e.TimeoutTooLong: 422,
    e.Contention: 503,
    e.Unavailable: 503,
    e.SetupFailed: 503,
}
"""HTTP status per error class; a class not listed (a bug in a workflow's code, such as
``TooManyMoves`` or ``DefinitionError``) maps through its bases, else to 500."""

RETRY_AFTER_SECONDS = 1
"""``Retry-After`` sent with every 503: nothing was applied, retrying is safe."""


def status_of(error: e.WorkflowError) -> int:
    """The HTTP status for ``error``."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(error: e.WorkflowError) -> dict[str, Any]:
    """``{"error": {"code", "message", "details"}}``."""
    return {
        "error": {
            "code": error.code,
            "message": error.message,
            "details": to_jsonable_python(error.details, fallback=str),
        }
    }
