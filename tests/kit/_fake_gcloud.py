"""A stand-in ``gcloud`` on PATH that logs its calls, to run deploy/deploy.sh for real (no dry
run) without a cloud: look-ups fail until the resource exists, as on a fresh project."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS_URI = "https://tasks-abc123-ew.a.run.app"
"""What ``functions describe tasks`` prints once the function exists."""

_SCRIPT = f"""#!/usr/bin/env bash
printf '%q ' "$@" >> "$FAKE_GCLOUD_DIR/log"; echo >> "$FAKE_GCLOUD_DIR/log"
args=" $* "
[[ "$args" == *" secrets create "* ]] && cat > /dev/null
[[ "$args" == *" functions deploy tasks "* ]] && touch "$FAKE_GCLOUD_DIR/tasks"
if [[ "$args" == *" functions describe tasks "* ]]; then
  [ -e "$FAKE_GCLOUD_DIR/tasks" ] || exit 1
  echo {TASKS_URI}
elif [[ "$args" == *" describe "* ]]; then
  [ -e "$FAKE_GCLOUD_DIR/existing" ] || exit 1
fi
exit 0
"""


@dataclass(frozen=True)
class FakeGcloud:
    """The fake's directory: ``bin/gcloud``, its ``log`` and its state files."""

    dir: Path

    def calls(self) -> list[list[str]]:
        """Every call's arguments, in order."""
        log = self.dir / "log"
        return [shlex.split(line) for line in log.read_text().splitlines()] if log.exists() else []

    def deploys(self) -> list[tuple[str, str]]:
        """``(function, WF_TASKS_URL)`` of every ``functions deploy``, in order."""
        out = []
        for c in self.calls():
            if "functions" in c and "deploy" in c:
                env = next(a for a in c if a.startswith("--set-env-vars=")).split("=", 1)[1]
                pairs = dict(p.split("=", 1) for p in env.split(","))
                out.append((c[c.index("deploy") + 1], pairs["WF_TASKS_URL"]))
        return out


def fake_gcloud(dir: Path, *, existing: bool) -> FakeGcloud:
    """A fake in ``dir``; ``existing``: every resource exists already (a re-run)."""
    (dir / "bin").mkdir(parents=True)
    exe = dir / "bin" / "gcloud"
    exe.write_text(_SCRIPT)
    exe.chmod(0o755)
    if existing:
        (dir / "existing").touch()
        (dir / "tasks").touch()
    return FakeGcloud(dir)


def run_deploy(
    fake: FakeGcloud, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """deploy/deploy.sh for real, with the fake first on PATH."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
    base.pop("FIRESTORE_EMULATOR_HOST", None)
    return subprocess.run(
        ["bash", "deploy/deploy.sh", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **base,
            "PATH": f"{fake.dir / 'bin'}:/usr/bin:/bin",
            "FAKE_GCLOUD_DIR": str(fake.dir),
            **(env or {}),
        },
    )
