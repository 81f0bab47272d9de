"""Cloud Functions entry points (functions-framework): ``api`` and ``tasks``. Wiring only."""

from __future__ import annotations

import flask
import functions_framework

from engine.wiring import app_from_env


@functions_framework.http
def api(request: flask.Request) -> flask.Response:
    """The public HTTP API."""
    return app_from_env().api(request)


@functions_framework.http
def tasks(request: flask.Request) -> flask.Response:
    """The Cloud Tasks target (signed timer, retry and resume tasks)."""
    return app_from_env().tasks(request)
