"""deploy/deploy.sh --dry-run prints the exact gcloud commands, in order, and runs none; a real
run (against a fake gcloud) deploys the tasks function twice only when its URL is unknown."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit._fake_gcloud import TASKS_URI, fake_gcloud, run_deploy

ROOT = Path(__file__).resolve().parents[2]
SA = "workflows-runtime@demo-proj.iam.gserviceaccount.com"
INDEXES = ROOT / "deploy" / "firestore.indexes.json"


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "deploy/deploy.sh", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        # no gcloud credentials needed
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": tempfile.gettempdir()},
    )


def commands_of(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    stage = next(line for line in lines if "staged in" in line).rsplit(" ", 1)[-1]
    shutil.rmtree(stage, ignore_errors=True)  # a dry run leaves it for inspection
    return [shlex.split(line[2:]) for line in lines if line.startswith("+ ")]


@pytest.fixture(scope="module")
def plan() -> Iterator[tuple[list[list[str]], Path]]:
    result = dry_run("--project", "demo-proj", "--region", "europe-west1", "--dry-run")
    assert result.returncode == 0, result.stderr
    commands = [
        shlex.split(line[2:]) for line in result.stdout.splitlines() if line.startswith("+ ")
    ]
    staged = next(line for line in result.stdout.splitlines() if "staged in" in line)
    stage = Path(staged.rsplit(" ", 1)[-1])
    yield commands, stage
    shutil.rmtree(stage, ignore_errors=True)  # a dry run leaves it for inspection


def normalized(command: list[str]) -> list[str]:
    """``command`` with the staging directory and the looked-up tasks URL made comparable."""
    out = []
    for a in command:
        if a.startswith("--source="):
            a = "--source=STAGE"
        out.append(a.replace("$TASKS_URL", TASKS_URI))
    return out


def gcloud_calls(printed: list[list[str]]) -> list[list[str]]:
    """The gcloud invocations among printed commands (pipes and ``TASKS_URL=$(...)`` opened)."""
    calls = []
    for c in printed:
        if "|" in c:
            c = c[c.index("|") + 1 :]
        if c[0] == "TASKS_URL=$(gcloud":
            c = ["gcloud", *c[1:-1], c[-1].removesuffix(")")]
        if c[0] == "gcloud":
            calls.append(normalized(c))
    return calls


def env_of(command: list[str]) -> dict[str, str]:
    env = next(a for a in command if a.startswith("--set-env-vars=")).split("=", 1)[1]
    return dict(p.split("=", 1) for p in env.split(","))


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
        "--role=roles/cloudtasks.taskDeleter",  # the runtime deletes timers of ended waits
        "--role=roles/iam.serviceAccountUser",
        "--role=roles/secretmanager.secretAccessor",
    }
    assert all(f"--member=serviceAccount:{SA}" in c for c in roles.values())
    for role in ("enqueuer", "taskDeleter"):  # on the queue only, not the project
        queue_binding = roles[f"--role=roles/cloudtasks.{role}"]
        assert queue_binding[4:8] == ["tasks", "queues", "add-iam-policy-binding", "workflows"]
    secret = find(commands, "secrets", "create")
    assert "wf-signing-secret" in secret and "--data-file=-" in secret
    invoker = find(commands, "add-invoker-policy-binding")
    assert "tasks" in invoker and f"--member=serviceAccount:{SA}" in invoker


def test_functions_deploy_flags_and_order(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    deploys = [c for c in commands if c[0] == "gcloud" and "functions" in c and "deploy" in c]
    names = [c[c.index("deploy") + 1] for c in deploys]
    # a first deploy: tasks, then tasks again with its own URL; the api needs that URL
    assert names == ["tasks", "tasks", "api"]
    first, tasks, api = deploys
    for fn, public in ((tasks, "--no-allow-unauthenticated"), (api, "--allow-unauthenticated")):
        name = fn[fn.index("deploy") + 1]
        for flag in ("--gen2", "--trigger-http", public, f"--entry-point={name}"):
            assert flag in fn, (name, flag)
        assert "--runtime=python311" in fn and f"--service-account={SA}" in fn
        assert "--set-secrets=WF_SIGNING_SECRET=wf-signing-secret:latest" in fn
        pairs = env_of(fn)
        assert pairs["GOOGLE_CLOUD_PROJECT"] == "demo-proj"
        assert pairs["WF_TASKS_SERVICE_ACCOUNT"] == SA
        assert "WF_RETENTION_DAYS" not in pairs and "WF_HISTORY" not in pairs
    assert (
        env_of(first)["WF_TASKS_URL"] == "https://europe-west1-demo-proj.cloudfunctions.net/tasks"
    )
    assert env_of(tasks)["WF_TASKS_URL"] == env_of(api)["WF_TASKS_URL"] == "$TASKS_URL"


def test_dry_run_shows_the_url_lookups(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    lookups = [
        i
        for i, c in enumerate(commands)
        if c[0] == "TASKS_URL=$(gcloud" and c[4:7] == ["functions", "describe", "tasks"]
    ]
    deploys = [i for i, c in enumerate(commands) if "functions" in c and "deploy" in c]
    assert len(lookups) == 2
    assert lookups[0] < deploys[0] < lookups[1] < deploys[1]  # before each tasks deploy
    assert "--format=value(serviceConfig.uri))" in commands[lookups[1]]


def test_dry_run_shows_every_existence_lookup(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    for resource, create in (
        (["firestore", "databases"], ["firestore", "databases", "create"]),
        (["tasks", "queues"], ["tasks", "queues", "create"]),
        (["iam", "service-accounts"], ["iam", "service-accounts", "create"]),
        (["secrets"], ["secrets", "create"]),
    ):
        describe = find(commands, *resource, "describe")
        created = next(c for c in commands if all(w in c for w in create))
        assert commands.index(describe) < commands.index(created)


@pytest.mark.parametrize(
    ("args", "location"),
    [
        ([], "nam5"),  # the default region, us-central1
        (["--region", "europe-west1"], "eur3"),
        (["--region", "asia-northeast1"], "asia-northeast1"),
        (["--region", "europe-west1", "--firestore-location", "europe-west3"], "europe-west3"),
    ],
)
def test_firestore_database_created_when_missing(args: list[str], location: str) -> None:
    commands = commands_of(dry_run("--project", "p", "--dry-run", *args))
    create = find(commands, "databases", "create")
    assert f"--location={location}" in create and "--type=firestore-native" in create
    assert commands.index(find(commands, "databases", "describe")) < commands.index(create)
    assert commands.index(create) < commands.index(find(commands, "engine.check"))


def test_retention_and_history_flags_reach_every_function() -> None:
    commands = commands_of(
        dry_run(
            "--project",
            "p",
            "--dry-run",
            "--retention-days",
            "7.5",
            "--history",
            "--history-retention-days",
            "90",
        )
    )
    deploys = [c for c in commands if "functions" in c and "deploy" in c]
    assert len(deploys) == 3
    for fn in deploys:
        pairs = env_of(fn)
        assert pairs["WF_RETENTION_DAYS"] == "7.5" and pairs["WF_HISTORY"] == "1"
        assert pairs["WF_HISTORY_RETENTION_DAYS"] == "90"


def test_firestore_ttl_indexes_and_safety_check(plan: tuple[list[list[str]], Path]) -> None:
    commands, _ = plan
    ttls = [c for c in commands if "ttls" in c and "update" in c]
    groups = set()
    for ttl in ttls:
        assert "expires_at" in ttl and "--enable-ttl" in ttl
        groups |= {a.split("=", 1)[1] for a in ttl if a.startswith("--collection-group=")}
    # history entries outlive their instance otherwise: TTL leaves subcollections alone
    assert groups == {"workflows", "history"} and len(ttls) == 2
    overrides = json.loads(INDEXES.read_text())["fieldOverrides"]
    assert {(o["collectionGroup"], o["fieldPath"]) for o in overrides if o["ttl"]} == {
        ("workflows", "expires_at"),
        ("history", "expires_at"),
    }
    indexes = [c for c in commands if "indexes" in c and "create" in c]
    listed = subprocess.run(
        [sys.executable, "deploy/_indexes.py", str(INDEXES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert [c[c.index("create") + 2 : -1] for c in indexes] == [line.split() for line in listed]
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


def test_indexes_cover_every_listing_and_the_check() -> None:
    def fields(index: dict[str, object]) -> tuple[str, ...]:
        return tuple(
            f["fieldPath"] + ("[]" if "arrayConfig" in f else "")
            for f in index["fields"]  # type: ignore[attr-defined]
        )

    indexes = {fields(i) for i in json.loads(INDEXES.read_text())["indexes"]}
    assert indexes == {
        ("workflow", "id"),  # GET /wf/{workflow}
        ("workflow", "status", "id"),  # ?status=
        ("workflow", "positions[]", "id"),  # ?position=
        ("workflow", "status", "positions[]", "id"),  # ?status=&position=
        ("status", "workflow"),  # engine.check: status == and workflow not-in
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dry-run"], "no project"),
        (["--project", "p", "--bogus"], "unknown option"),
        (["--project", "p", "--dry-run", "--retention-days", "a week"], "--retention-days"),
        (["--project", "p", "--dry-run", "--history-retention-days", "-1"], "--history-retention"),
    ],
)
def test_bad_invocations_exit_2(args: list[str], message: str) -> None:
    result = dry_run(*args)
    assert result.returncode == 2 and message in result.stderr


def test_first_real_deploy_deploys_tasks_again_with_its_url(tmp_path: Path) -> None:
    fake = fake_gcloud(tmp_path, existing=False)
    result = run_deploy(fake, "--project", "p", "--region", "europe-west1", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.deploys() == [
        ("tasks", "https://europe-west1-p.cloudfunctions.net/tasks"),
        ("tasks", TASKS_URI),
        ("api", TASKS_URI),
    ]
    # the dry run shows exactly the gcloud calls of this first deploy
    dry = commands_of(dry_run("--project", "p", "--region", "europe-west1", "--force", "--dry-run"))
    assert gcloud_calls(dry) == [normalized(["gcloud", *c]) for c in fake.calls()]


def test_a_rerun_deploys_tasks_once(tmp_path: Path) -> None:
    fake = fake_gcloud(tmp_path, existing=True)
    result = run_deploy(fake, "--project", "p", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.deploys() == [("tasks", TASKS_URI), ("api", TASKS_URI)]
    creates = [c for c in fake.calls() if "create" in c and "composite" not in c]
    assert creates == []  # database, queue, account and secret exist already


def test_deploy_stops_when_the_check_cannot_run(tmp_path: Path) -> None:
    fake = fake_gcloud(tmp_path, existing=True)
    no_credentials = {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "none.json")}
    result = run_deploy(fake, "--project", "p", env=no_credentials)
    assert result.returncode == 1
    assert "check could not run (exit 2" in result.stderr
    assert "no Google Cloud credentials" in result.stderr and "Traceback" not in result.stderr
    assert fake.deploys() == []
