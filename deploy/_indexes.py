"""Print one line of ``--field-config`` flags per composite index in firestore.indexes.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def field_configs(path: Path) -> list[list[str]]:
    """The gcloud ``--field-config`` flags of every composite index in ``path``."""
    out = []
    for index in json.loads(path.read_text())["indexes"]:
        flags = []
        for f in index["fields"]:
            if "arrayConfig" in f:
                flags.append(f"--field-config=field-path={f['fieldPath']},array-config=contains")
            else:
                flags.append(
                    f"--field-config=field-path={f['fieldPath']},order={f['order'].lower()}"
                )
        out.append(flags)
    return out


if __name__ == "__main__":
    for flags in field_configs(Path(sys.argv[1])):
        print(" ".join(flags))
