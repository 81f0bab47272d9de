"""Input and output types of ``OnEvent`` functions, read once per function and cached."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from engine.errors import DefinitionError, InvalidInput
from engine.state import CallbackRequest


@dataclass(frozen=True)
class EventSignature:
    """What an ``OnEvent`` function accepts and returns."""

    input: TypeAdapter[Any] | None
    """Adapter for the single parameter, or None when the function takes no input."""
    output: TypeAdapter[Any] | None
    """Adapter for the return annotation, or None when it has none (or returns None)."""


_cache: dict[object, EventSignature] = {}


def _key(fn: Callable[..., Any]) -> object:
    # definition() builds fresh bound methods and closures every time; their code is stable.
    # Closures from one factory share their code but not their types: the annotations tell.
    func = getattr(fn, "__func__", fn)
    code = getattr(func, "__code__", None)
    if code is None:
        return func
    try:
        return code, tuple(getattr(func, "__annotations__", {}).items())
    except TypeError:  # an unhashable annotation
        return func


def _namespace(owner: object) -> dict[str, Any] | None:
    """Names a method's string annotations may use besides its module's globals: the
    namespace its class was defined in (e.g. a function body) and the class body itself."""
    if owner is None:
        return None
    cls = type(owner)
    ns: dict[str, Any] = {}
    parent = getattr(cls, "__pydantic_parent_namespace__", None)
    if parent:
        try:  # pydantic keeps it as weak references
            from pydantic._internal._model_construction import unpack_lenient_weakvaluedict

            ns.update(unpack_lenient_weakvaluedict(parent) or {})
        except ImportError:
            pass
    for base in reversed(cls.__mro__):
        ns.update({k: v for k, v in vars(base).items() if isinstance(v, type)})
    # A method may name its own class, which is not bound yet while a class decorator runs.
    ns[cls.__name__] = cls
    return ns


def signature_of(fn: Callable[..., Any], event: str = "") -> EventSignature:
    """The (cached) input/output adapters of an ``OnEvent`` function."""
    key = _key(fn)
    sig = _cache.get(key)
    if sig is None:
        sig = _read(fn, event)
        _cache[key] = sig
    return sig


def _read(fn: Callable[..., Any], event: str) -> EventSignature:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as e:
        raise DefinitionError(f"OnEvent handler is not a function: {e}", statement=event) from e
    if len(params) > 1:
        raise DefinitionError(
            "an OnEvent function takes at most one parameter (the input)", statement=event
        )
    try:
        hints = typing.get_type_hints(fn, localns=_namespace(getattr(fn, "__self__", None)))
    except Exception as e:  # NameError for unresolvable string annotations, among others
        raise DefinitionError(
            f"cannot resolve the type annotations of the OnEvent function: {e}", statement=event
        ) from e
    input_adapter: TypeAdapter[Any] | None = None
    if params:
        p = params[0]
        if p.name not in hints:
            raise DefinitionError(
                f"the OnEvent function's parameter {p.name!r} needs a type annotation",
                statement=event,
            )
        input_adapter = TypeAdapter(hints[p.name])
    ret = hints.get("return")
    output_adapter = None if ret is None or ret is type(None) else TypeAdapter(ret)
    return EventSignature(input_adapter, output_adapter)


def call_event_fn(fn: Callable[..., Any], req: CallbackRequest, input: Any) -> Any:
    """Validate ``input`` against ``fn``'s parameter type and call it."""
    sig = signature_of(fn, req.name)
    if sig.input is None:
        if input not in (None, {}):
            raise InvalidInput(
                req.workflow_id,
                req.name,
                [{"loc": [], "msg": "this event takes no input", "type": "no_input"}],
            )
        return fn()
    try:
        value = sig.input.validate_python(input)
    except ValidationError as e:
        raise InvalidInput(
            req.workflow_id,
            req.name,
            [
                dict(x)
                for x in e.errors(include_url=False, include_context=False, include_input=False)
            ],
        ) from e
    return fn(value)
