"""HTTP routing for the two functions: ``api`` (public) and ``tasks`` (Cloud Tasks targets).

Parses and checks requests, calls the Service, and turns every ``WorkflowError`` into a
JSON error with the status from ``engine.http_errors``. ``main.py`` only wires these in.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
from pydantic import ValidationError

from engine import errors as e
from engine._describe import describe_workflow
from engine._log import log
from engine._names import is_name
from engine._signing import SIGNATURE_HEADER, verify
from engine._svg import to_svg
from engine.admin import Admin
from engine.config import Settings
from engine.graph import build, to_dot, to_mermaid
from engine.http_errors import RETRY_AFTER_SECONDS, error_body, status_of
from engine.openapi import openapi_document
from engine.pages import index_html
from engine.runtime import Service
from engine.scheduler import TaskPayload

IDEMPOTENCY_HEADER = "Idempotency-Key"
"""Request header naming a client's retry-safe request."""

MAX_PAGE_SIZE = 200
"""Largest ``limit`` a listing accepts."""

ADMIN_HEADER = "X-Admin-Secret"
"""Admin calls carry the signing secret here (the tasks function is also private in
production, behind IAM)."""

ACTOR_HEADER = "X-Actor"
"""Who makes an admin call, recorded in the instance's history."""

_Handler = Callable[[flask.Request, list[str]], tuple[int, Any, dict[str, str]]]


@dataclass(frozen=True)
class Text:
    """A non-JSON response body."""

    body: str
    """The text."""
    mimetype: str
    """Its media type."""


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> flask.Response:
    if isinstance(body, Text):
        return flask.Response(body.body, status=status, mimetype=body.mimetype, headers=headers)
    return flask.Response(
        json.dumps(body), status=status, mimetype="application/json", headers=headers or {}
    )


def _name(value: str, what: str) -> str:
    if not is_name(value):
        raise e.InvalidName(what, value)
    return value


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; stored, they would come back as null and break the data.
    raise e.BadRequest(f"malformed JSON body: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise e.BadRequest(f"malformed JSON body: {text[:40]} is too large a number")
    return value


def _int_arg(request: flask.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise e.BadRequest(f"{name} must be an integer") from err
    if not low <= value <= high:
        raise e.BadRequest(f"{name} must be between {low} and {high}")
    return value


class HttpApp:
    """Both functions' request handling over one Service."""

    def __init__(self, service: Service, settings: Settings) -> None:
        self.service = service
        """The runtime service."""
        self.settings = settings
        """Configuration (body limit, signing secret)."""
        self.admin = Admin(service)
        """Repairs, cancel and purge (admin routes)."""

    # -- entry points ---------------------------------------------------------------------

    def api(self, request: flask.Request) -> flask.Response:
        """The public API (create, get, event, list, definition)."""
        return self._guarded(request, self._route_api)

    def tasks(self, request: flask.Request) -> flask.Response:
        """Cloud Tasks targets: signed timer / retry / resume tasks."""
        return self._guarded(request, self._run_task)

    def _guarded(self, request: flask.Request, handler: _Handler) -> flask.Response:
        started = time.perf_counter()
        parts = [p for p in request.path.split("/") if p]
        try:
            status, body, headers = handler(request, parts)
        except e.WorkflowError as err:
            status, body = status_of(err), error_body(err)
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
            if status >= 500:
                log("ERROR", err.message, code=err.code, path=request.path)
        except Exception as err:  # a bug: say so, in JSON, and log the trace
            status, headers = 500, {}
            body = {"error": {"code": "internal", "message": f"internal error: {err}"}}
            log("ERROR", "unhandled error", path=request.path, trace=traceback.format_exc())
        log(
            "INFO",
            f"{request.method} {request.path} {status}",
            status=status,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return _response(status, body, headers)

    # -- request parsing ------------------------------------------------------------------

    def _body(self, request: flask.Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.content_length
        if declared is not None and declared > limit:
            raise e.BodyTooLarge(declared, limit)
        raw = request.stream.read(limit + 1)
        if len(raw) > limit:
            raise e.BodyTooLarge(len(raw), limit)
        return raw

    def _json(self, request: flask.Request) -> Any:
        raw = self._body(request)
        if not raw.strip():
            return None
        try:
            return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, int too long
            raise e.BadRequest(f"malformed JSON body: {err}") from err
        except RecursionError as err:
            raise e.BadRequest("malformed JSON body: nested too deeply") from err

    # -- api routes -----------------------------------------------------------------------

    def _route_api(
        self, request: flask.Request, parts: list[str]
    ) -> tuple[int, Any, dict[str, str]]:
        method = request.method
        routes: dict[tuple[str, int], list[str]] = {
            ("", 0): ["GET"],
            ("wf", 2): ["GET"],
            ("wf", 3): ["GET", "POST"],
            ("wf", 4): ["GET", "POST"],
            ("definition", 2): ["GET"],
            ("graph", 2): ["GET"],
            ("openapi", 2): ["GET"],
        }
        key = (parts[0] if parts else "", len(parts))
        allowed = routes.get(key)
        if allowed is None:
            raise e.RouteNotFound(method, request.path)
        if method not in allowed:
            raise e.MethodNotAllowed(method, request.path, allowed)
        if key == ("", 0):
            names = self.service.registry.names()
            if (
                request.accept_mimetypes.best_match(["application/json", "text/html"])
                == "text/html"
            ):
                return 200, Text(index_html(names), "text/html"), {}
            return 200, {"workflows": names}, {}
        workflow = _name(parts[1], "workflow name")
        if parts[0] in ("definition", "graph", "openapi"):
            return 200, self._picture(request, parts[0], workflow), {}
        if key == ("wf", 2):
            return 200, self._list(request, workflow), {}
        id = _name(parts[2], "instance id")
        if key == ("wf", 3) and method == "GET":
            return 200, self.service.get(workflow, id), {}
        if key == ("wf", 3):
            data = self._json(request)
            if data is not None and not isinstance(data, dict):
                raise e.BadRequest("the body must be a JSON object (the initial data)")
            return 201, self.service.create(workflow, id, data), {}
        if method == "GET":
            if parts[3] != "history":
                raise e.MethodNotAllowed(method, request.path, ["POST"])
            return 200, self._history(request, workflow, id), {}
        return self._event(request, workflow, id, parts[3])

    def _history(self, request: flask.Request, workflow: str, id: str) -> Any:
        after = _int_arg(request, "after", 0, 0, 2**62)
        limit = _int_arg(request, "limit", 50, 1, MAX_PAGE_SIZE)
        return self.service.history(workflow, id, after=after, limit=limit).model_dump(mode="json")

    def _picture(self, request: flask.Request, kind: str, workflow: str) -> Any:
        description = describe_workflow(self.service.registry.get(workflow), workflow)
        if kind == "definition":
            return description
        if kind == "openapi":
            return openapi_document(description, request.host_url.rstrip("/"))
        fmt = request.args.get("format", "mermaid")
        if fmt not in ("dot", "mermaid", "svg"):
            raise e.BadRequest(f"unknown graph format {fmt!r}: use mermaid, dot or svg")
        instance = request.args.get("instance")
        here = (
            self.service.positions(workflow, _name(instance, "instance id"))
            if instance is not None
            else frozenset()
        )
        if fmt == "dot":
            return Text(to_dot(description, here), "text/vnd.graphviz")
        if fmt == "mermaid":
            return Text(to_mermaid(description, here), "text/plain")
        return Text(to_svg(build(description), here), "image/svg+xml")

    def _list(self, request: flask.Request, workflow: str) -> Any:
        args = request.args
        limit = _int_arg(request, "limit", 50, 1, MAX_PAGE_SIZE)
        status = args.get("status")
        if status is not None and status not in ("Resuming", "Waiting", "Finished", "Failed"):
            raise e.BadRequest(f"unknown status {status!r}")
        return self.service.list(
            workflow,
            status=status,
            position=args.get("position"),
            limit=limit,
            cursor=args.get("cursor"),
        )

    def _event(
        self, request: flask.Request, workflow: str, id: str, event: str
    ) -> tuple[int, Any, dict[str, str]]:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and not 1 <= len(key) <= 200:
            raise e.BadRequest(f"{IDEMPOTENCY_HEADER} must be 1 to 200 characters")
        thread = request.args.get("thread")
        input = self._json(request)
        output, replayed = self.service.send(
            workflow, id, event, input, thread_id=thread, idempotency_key=key
        )
        return 200, output, {"Idempotent-Replayed": "true"} if replayed else {}

    # -- tasks ------------------------------------------------------------------------------

    def _run_task(
        self, request: flask.Request, parts: list[str]
    ) -> tuple[int, Any, dict[str, str]]:
        if parts and parts[0] == "admin":
            return self._admin(request, parts[1:])
        if request.method != "POST":
            raise e.MethodNotAllowed(request.method, request.path, ["POST"])
        raw = self._body(request)
        if not verify(self.settings.signing_secret, raw, request.headers.get(SIGNATURE_HEADER)):
            raise e.Forbidden("missing or invalid task signature")
        try:
            payload = TaskPayload.model_validate_json(raw)
        except ValidationError as err:
            raise e.BadRequest(f"malformed task body: {err}") from err
        outcome = self.service.run_task(payload)
        return 200, {"outcome": outcome}, {}

    # -- admin (on the private tasks function) ------------------------------------------

    def _admin(self, request: flask.Request, parts: list[str]) -> tuple[int, Any, dict[str, str]]:
        token = request.headers.get(ADMIN_HEADER, "")
        secret = self.settings.signing_secret
        if not secret or not hmac.compare_digest(token.encode(), secret.encode()):
            raise e.Forbidden(f"admin calls need the {ADMIN_HEADER} header with the secret")
        actor = _actor(request)
        method, n = request.method, len(parts)
        if n < 2 or parts[0] != "wf":
            raise e.RouteNotFound(method, request.path)
        workflow = _name(parts[1], "workflow name")
        if n == 2 and method == "GET":
            return 200, self._list(request, workflow), {}
        if n < 3:
            raise e.RouteNotFound(method, request.path)
        id = _name(parts[2], "instance id")
        if n == 3 and method == "DELETE":
            self.admin.purge(workflow, id, actor)
            return 200, {"purged": id}, {}
        op = parts[3] if n > 3 else ""
        if method == "DELETE" and op == "threads" and n == 5:
            return 200, self.admin.remove_thread(workflow, id, parts[4], actor), {}
        if method != "POST" or n != 4:
            raise e.RouteNotFound(method, request.path)
        body = self._json(request)
        if op == "retry":
            return 200, self.admin.retry(workflow, id, actor), {}
        if op == "cancel":
            return 200, self.admin.cancel(workflow, id, actor), {}
        if not isinstance(body, dict):
            raise e.BadRequest("the body must be a JSON object")
        if op == "data":
            return 200, self.admin.replace_data(workflow, id, body, actor), {}
        if op == "goto":
            thread, statement = _str(body, "thread"), _str(body, "statement")
            return 200, self.admin.goto(workflow, id, thread, statement, actor), {}
        if op == "threads":
            thread, go = _str(body, "thread"), _str(body, "go")
            return 200, self.admin.add_thread(workflow, id, thread, go, actor), {}
        raise e.RouteNotFound(method, request.path)


def _actor(request: flask.Request) -> str:
    """Who makes an admin call: the e-mail in the caller's identity token (in production the
    platform's IAM check verified it before the request got here), else ``X-Actor``."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and auth.count(".") == 2:
        claims = auth[7:].split(".")[1]
        try:
            payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("email"), str):
            return str(payload["email"])[:200]
    return request.headers.get(ACTOR_HEADER, "")[:200]


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise e.BadRequest(f"{key!r} must be a non-empty string")
    return value
