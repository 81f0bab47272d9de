"""The names that appear in URLs: workflow names, instance ids and event names."""

from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""Letters, digits, ``_ . -``, at most 100 characters, starting with a letter or digit."""


def is_name(value: str) -> bool:
    """Whether ``value`` is such a name (all of it: no trailing newline)."""
    return NAME_PATTERN.fullmatch(value) is not None
