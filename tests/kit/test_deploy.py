"""deploy/deploy.sh --dry-run prints the exact gcloud commands, in order, and runs none."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SA = "workflows-runtime@demo-proj.iam.gserviceaccount.com"


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "deploy/deploy.sh", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},  # no gcloud credentials needed
    )


@pytest.fixture(scope="module")
def plan() -> tuple[list[list[str]], Path]:
    result = dry_run("--project", "demo-proj", "--region", "europe-west1", "--dry-run")
    assert result.returncode == 0, result.stderr
    commands = [
        shlex.split(line[2:]) for line in result.stdout.splitlines() if line.startswith("+ ")
    ]
    staged = next(line for line in result.stdout.splitlines() if "staged in" in line)
    return commands, Path(staged.rsplit(" ", 1)[-1])


def find(commands: list[list[str]], *words: str) -> list[str]:
    matches = [c for c in commands if all(w in c for w in words)]
    assert len(matches) == 1, (words, matches)
    return matches[0]


def test_queue_service_account_roles_and_secret(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    queue = find(commands, "queues", "create")
    assert "workflows" in queue and "--location=europe-west1" in queue
    assert "workflows-runtime" in find(commands, "service-accounts", "create")
    roles = {
        c[c.index(next(a for a in c if a.startswith("--role=")))]: c
        for c in commands
        if any(a.startswith("--role=") for a in c)
    }
    assert set(roles) == {
        "--role=roles/datastore.user",
        "--role=roles/cloudtasks.enqueuer",
        "--role=roles/iam.serviceAccountUser",
        "--role=roles/secretmanager.secretAccessor",
    }
    assert all(f"--member=serviceAccount:{SA}" in c for c in roles.values())
    secret = find(commands, "secrets", "create")
    assert "wf-signing-secret" in secret and "--data-file=-" in secret
    invoker = find(commands, "add-invoker-policy-binding")
    assert "tasks" in invoker and f"--member=serviceAccount:{SA}" in invoker


def test_functions_deploy_flags_and_order(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    deploys = [c for c in commands if c[0] == "gcloud" and "functions" in c and "deploy" in c]
    names = [c[c.index("deploy") + 1] for c in deploys]
    assert names == ["tasks", "api"]  # the api needs the tasks function's URL
    tasks, api = deploys
    for fn, public in ((tasks, "--no-allow-unauthenticated"), (api, "--allow-unauthenticated")):
        name = fn[fn.index("deploy") + 1]
        for flag in ("--gen2", "--trigger-http", public, f"--entry-point={name}"):
            assert flag in fn, (name, flag)
        assert "--runtime=python311" in fn and f"--service-account={SA}" in fn
        assert "--set-secrets=WF_SIGNING_SECRET=wf-signing-secret:latest" in fn
        env = next(a for a in fn if a.startswith("--set-env-vars=")).split("=", 1)[1]
        pairs = dict(p.split("=", 1) for p in env.split(","))
        assert pairs["GOOGLE_CLOUD_PROJECT"] == "demo-proj"
        assert pairs["WF_TASKS_SERVICE_ACCOUNT"] == SA
        assert pairs["WF_TASKS_URL"].endswith("/tasks")


def test_firestore_ttl_indexes_and_safety_check(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    ttl = find(commands, "ttls", "update")
    assert "expires_at" in ttl and "--enable-ttl" in ttl
    indexes = [c for c in commands if "indexes" in c and "create" in c]
    assert len(indexes) == 3
    assert any("--field-config=field-path=positions,array-config=contains" in c for c in indexes)
    check = find(commands, "engine.check")
    assert "GOOGLE_CLOUD_PROJECT=demo-proj" in check
    assert commands.index(check) < commands.index(find(commands, "queues", "create"))


def test_staged_source_is_complete(plan: tuple[list[list[str]], Path]) -> None:
    _, stage = plan
    assert (stage / "main.py").is_file()
    assert (stage / "engine" / "runtime.py").is_file()
    assert (stage / "workflows" / "pizza.py").is_file()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert (stage / "requirements.txt").read_text().split() == deps


def test_force_skips_the_safety_check() -> None:
    result = dry_run("--project", "p", "--dry-run", "--force")
    assert result.returncode == 0 and "engine.check" not in result.stdout
    stage = next(line for line in result.stdout.splitlines() if "staged in" in line)
    shutil.rmtree(stage.rsplit(" ", 1)[-1], ignore_errors=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--dry-run"], "no project"), (["--project", "p", "--bogus"], "unknown option")],
)
def test_bad_invocations_exit_2(args: list[str], message: str) -> None:
    result = dry_run(*args)
    assert result.returncode == 2 and message in result.stderr
