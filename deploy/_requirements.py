"""Print requirements.txt for the functions: the runtime dependencies of pyproject.toml."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def requirements(pyproject: Path) -> list[str]:
    """The ``[project] dependencies`` of ``pyproject``."""
    data = tomllib.loads(pyproject.read_text())
    return [str(d) for d in data["project"]["dependencies"]]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    print("\n".join(requirements(root / "pyproject.toml")))
