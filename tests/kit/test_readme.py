"""The README's Python examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.registry import default_registry
from engine.testing import Harness

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_approval_example_runs() -> None:
    example = next(b for b in blocks() if '@register("approval")' in b)
    if "approval" not in default_registry.names():
        exec(compile(example, "README.md", "exec"), {"__name__": "readme_example"})
    h = Harness()
    h.create("approval", "r1")
    h.send("approval", "r1", "answer", {"approved": True})
    assert h.get("approval", "r1")["state"]["status"] == "approved"
    h.create("approval", "r2")
    h.advance(3 * 24 * 3600)
    assert h.get("approval", "r2")["state"]["status"] == "escalated"


def test_the_testing_example_passes() -> None:
    example = next(b for b in blocks() if "def test_cart_expires_after_a_day" in b)
    namespace: dict[str, Any] = {"__name__": "readme_test"}
    exec(compile(example, "README.md", "exec"), namespace)
    namespace["test_cart_expires_after_a_day"]()


@pytest.mark.parametrize(
    ("marker", "saved_as"),
    [
        ('@register("approval")', "workflows/approval.py"),
        ("def test_cart_expires_after_a_day", "tests/test_my_workflow.py"),
    ],
)
def test_the_examples_pass_the_projects_own_lint_and_format(marker: str, saved_as: str) -> None:
    """Saved where the README says, an example keeps ``scripts/test.sh`` green."""
    example = next(b for b in blocks() if marker in b)
    ruff = str(Path(sys.executable).parent / "ruff")
    root = README.parent
    for args in (["check", "--no-fix"], ["format", "--diff"]):
        result = subprocess.run(
            [ruff, *args, "--stdin-filename", saved_as, "-"],
            input=example,
            capture_output=True,
            text=True,
            cwd=root,
        )
        assert result.returncode == 0, result.stdout + result.stderr
