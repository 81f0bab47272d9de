"""Workflows the integration stack serves besides the pizza (``WF_MODULES``)."""

from __future__ import annotations

from typing import ClassVar

from engine import OnEvent, S, Section, Step, Wait, Workflow, current_step
from engine.registry import RetryPolicy, register


@register("flaky")
class Flaky(Workflow):
    """A step that fails on its first ``failures`` attempts, retried by real tasks."""

    failures: int = 2
    succeeded_on_attempt: int = -1

    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(max_attempts=3, initial_backoff=0.5)

    def definition(self) -> Section:
        return S(Step("charge", self.charge), Wait("done", OnEvent("close", lambda: None)))

    def charge(self) -> None:
        info = current_step()
        assert info is not None
        if info.attempt < self.failures:
            raise RuntimeError(f"declined on attempt {info.attempt}")
        self.succeeded_on_attempt = info.attempt
