"""Which workflow classes the functions serve, by name, and their retry policies.

A workflow class may set these class attributes (all optional)::

    retry_policy: ClassVar[RetryPolicy]            # default for its steps
    step_retry: ClassVar[dict[str, RetryPolicy]]   # per step name
    checkpoint_every_step: ClassVar[bool]          # commit after every step
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine._describe import describe, sample
from engine._names import is_name
from engine._shape import shape_of
from engine.dsl import Workflow
from engine.errors import DefinitionError, UnknownWorkflow


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing step is retried: exponential backoff, then the instance is Failed."""

    max_attempts: int = 5
    """Failures after which the instance is marked Failed (retries = max_attempts - 1)."""
    initial_backoff: float = 1.0
    """Seconds before the first retry."""
    max_backoff: float = 300.0
    """Upper bound of the delay between retries, in seconds."""
    multiplier: float = 2.0
    """Growth of the delay per failure."""

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure."""
        return float(min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1)))


DEFAULT_RETRY = RetryPolicy()
"""The retry policy of steps whose workflow sets none."""


class Registry:
    """Workflow classes by name."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Workflow]] = {}
        self._timer_events: dict[type[Workflow], frozenset[str]] = {}

    def add(self, name: str, cls: type[Workflow]) -> type[Workflow]:
        """Register ``cls`` as ``name`` after validating its definition (with default data)."""
        if not is_name(name):
            raise DefinitionError(f"invalid workflow name {name!r}", workflow=name)
        if not (isinstance(cls, type) and issubclass(cls, Workflow)):
            raise DefinitionError(f"{cls!r} is not a Workflow subclass", workflow=name)
        shape_of(sample(cls), refresh=True)
        self._classes[name] = cls
        return cls

    def get(self, name: str) -> type[Workflow]:
        """The class registered as ``name``; ``UnknownWorkflow`` otherwise."""
        cls = self._classes.get(name)
        if cls is None:
            raise UnknownWorkflow(name)
        return cls

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._classes)

    def timer_events(self, cls: type[Workflow]) -> frozenset[str]:
        """Events that only ``Timeout`` cases of ``cls`` use (they are not HTTP events)."""
        cached = self._timer_events.get(cls)
        if cached is None:
            kinds: dict[str, set[str]] = {}
            _event_kinds(describe(sample(cls).definition()), kinds)
            cached = frozenset(ev for ev, k in kinds.items() if k == {"Timeout"})
            self._timer_events[cls] = cached
        return cached

    def retry_policy(self, cls: type[Workflow], step: str) -> RetryPolicy:
        """The policy for ``step`` of ``cls``."""
        per_step: dict[str, RetryPolicy] = getattr(cls, "step_retry", {}) or {}
        policy = per_step.get(step) or getattr(cls, "retry_policy", None)
        return policy if isinstance(policy, RetryPolicy) else DEFAULT_RETRY


default_registry = Registry()
"""The registry the functions serve (``WF_MODULES`` modules register into it on import)."""


def register(name: str) -> Callable[[type[Workflow]], type[Workflow]]:
    """Class decorator: serve this workflow as ``name`` (in the default registry)."""

    def deco(cls: type[Workflow]) -> type[Workflow]:
        return default_registry.add(name, cls)

    return deco


def _event_kinds(nodes: list[dict[str, Any]], out: dict[str, set[str]]) -> None:
    for node in nodes:
        for case in node.get("cases", ()):
            out.setdefault(case["event"], set()).add(case["type"])
            _event_kinds(case["body"], out)
        for branch in node.get("branches", ()):
            _event_kinds(branch["body"], out)
        _event_kinds(node.get("body", []), out)


def unknown_fields(cls: type[Workflow], data: dict[str, Any]) -> list[str]:
    """Keys of ``data`` that ``cls`` has no field (nor alias) for: a typo there would
    silently keep a default. None when the model allows extra fields."""
    if cls.model_config.get("extra") == "allow":
        return []
    known = set(cls.model_fields)
    for f in cls.model_fields.values():
        known |= {a for a in (f.alias, f.validation_alias) if isinstance(a, str)}
    return sorted(k for k in data if k not in known)
