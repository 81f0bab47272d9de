"""A later version of the "doc" workflow whose 'review' wait was removed (for engine.check)."""

from __future__ import annotations

from engine import OnEvent, S, Section, Step, Wait, Workflow
from engine.registry import register


@register("doc")
class DocV2(Workflow):
    """The edited code: 'review' is gone, 'approval' is new."""

    def definition(self) -> Section:
        return S(Step("start", lambda: None), Wait("approval", OnEvent("approve", lambda: None)))
