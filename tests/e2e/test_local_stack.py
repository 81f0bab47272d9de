"""End to end, as a user would: start deploy/local.sh, drive a pizza order over HTTP, stop it,
and check that nothing is left running."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack import free_port
from tests.integration._http import eventually, get, post

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@dataclass
class LocalStack:
    """A running deploy/local.sh."""

    proc: subprocess.Popen[str]
    base: str
    tasks: str
    secret: str
    output: list[str]

    def ports(self) -> list[int]:
        """Every port the stack announced."""
        return sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", "\n".join(self.output))})


def _pids_listening_on(ports: list[int]) -> set[int]:
    """Live (non-zombie) processes whose command line names one of ``ports``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(re.search(rf"\b{p}\b", cmdline) for p in ports):
            found.add(int(entry.name))
    return found


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net lists them) of the sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


def start_local_stack() -> LocalStack:
    """Run deploy/local.sh on free ports and wait for its banner."""
    api_port, tasks_port = free_port(), free_port()
    secret = "e2e-secret"
    env = {**os.environ, "PORT": str(api_port), "TASKS_PORT": str(tasks_port)}
    env["WF_SIGNING_SECRET"] = secret
    proc = subprocess.Popen(
        ["bash", "deploy/local.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        output.append(line.rstrip())
        if "Ctrl-C stops everything" in line:
            break
    base, tasks = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{tasks_port}"
    return LocalStack(proc, base, tasks, secret, output)


def stop_local_stack(stack: LocalStack) -> int:
    """SIGTERM to its process group, as a service manager would; its exit status."""
    if stack.proc.poll() is None:
        os.killpg(stack.proc.pid, signal.SIGTERM)
    try:
        return stack.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.proc.pid, signal.SIGKILL)
        raise


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    stack = start_local_stack()
    try:
        assert any("local stack ready" in o for o in stack.output), "\n".join(stack.output)
        yield stack
    finally:
        stop_local_stack(stack)


def order(stack: LocalStack, id: str) -> Any:
    return get(stack.base, f"/wf/pizza/{id}").json()


def test_banner_shows_url_and_curl_line(local_stack: LocalStack) -> None:
    text = "\n".join(local_stack.output)
    assert local_stack.base in text
    assert f"curl -s -X POST {local_stack.base}/wf/pizza/order-1" in text


def test_pizza_order_from_creation_to_completed(local_stack: LocalStack) -> None:
    base = local_stack.base
    assert post(base, "/wf/pizza/e2e-1", {}).status_code == 201
    steps: list[tuple[str, Any]] = [
        ("add", {"name": "margherita", "qty": 2}),
        ("submit", None),
        ("confirm", {"manager_name": "Ann", "amount": 20}),
        ("confirm_payment", {"paid_amount": 20, "delivery_address": "1 Main St"}),
        ("start_cooking", {"cook_name": "Bob"}),
        ("cooked", None),
        ("take_for_delivery", None),
        ("delivered", None),
    ]
    for event, body in steps:
        resp = post(base, f"/wf/pizza/e2e-1/{event}", body)
        assert resp.status_code == 200, (event, resp.text)
    final = order(local_stack, "e2e-1")
    assert (final["meta"]["status"], final["state"]["status"]) == ("Finished", "completed")


def test_short_cart_timeout_ends_the_order_through_a_real_task(local_stack: LocalStack) -> None:
    post(local_stack.base, "/wf/pizza/e2e-2", {"timeouts": {"cart": 2}})

    def expired() -> Any:
        o = order(local_stack, "e2e-2")
        return o if o["meta"]["status"] == "Finished" else None

    assert eventually(expired, timeout=60)["state"]["status"] == "cart expired"


def test_bad_inputs_get_clear_errors(local_stack: LocalStack) -> None:
    base = local_stack.base
    post(base, "/wf/pizza/e2e-3", {})
    bad = requests.post(base + "/wf/pizza/e2e-3/add", data="{", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    invalid = post(base, "/wf/pizza/e2e-3/add", {"name": "", "qty": 1})
    assert invalid.status_code == 422
    assert post(base, "/wf/pizza/e2e-3/cooked").status_code == 409
    assert get(base, "/wf/pizza/nope").status_code == 404
    forged = requests.post(local_stack.tasks + "/", data=b"{}", timeout=10)
    assert forged.status_code == 403
    anonymous_admin = requests.post(local_stack.tasks + "/admin/wf/pizza/e2e-3/cancel", timeout=10)
    assert anonymous_admin.status_code == 403
    admin = requests.post(
        local_stack.tasks + "/admin/wf/pizza/e2e-3/cancel",
        headers={"X-Admin-Secret": local_stack.secret, "X-Actor": "e2e"},
        timeout=10,
    )
    assert admin.status_code == 200 and admin.json()["meta"]["error"] == "cancelled by e2e"


def test_definition_graph_and_openapi(local_stack: LocalStack) -> None:
    base = local_stack.base
    assert get(base, "/definition/pizza").json()["definition"][0] == {
        "type": "Step",
        "name": "setup",
    }
    assert get(base, "/graph/pizza?format=dot").text.startswith('digraph "pizza"')
    assert get(base, "/graph/pizza?format=mermaid").text.startswith("flowchart TD")
    assert get(base, "/openapi/pizza").json()["openapi"] == "3.1.0"
    page = requests.get(base + "/", headers={"Accept": "text/html"}, timeout=10)
    assert "text/html" in page.headers["Content-Type"] and "/graph/pizza" in page.text


def test_functions_listen_on_loopback_only(local_stack: LocalStack) -> None:
    for url in (local_stack.base, local_stack.tasks):
        port = int(url.rsplit(":", 1)[1])
        assert _listening_addresses(port) == {"0100007F"}, url  # 127.0.0.1, as the banner says


def test_stopping_leaves_no_process_behind(local_stack: LocalStack) -> None:
    ports = local_stack.ports()
    assert len(ports) == 4  # firestore, tasks emulator, tasks function, api function
    assert _pids_listening_on(ports)
    assert stop_local_stack(local_stack) == 0
    eventually(lambda: not _pids_listening_on(ports), timeout=20)


def test_a_second_run_after_a_stop_works(local_stack: LocalStack) -> None:
    assert local_stack.proc.poll() is not None  # the first run was stopped above
    again = start_local_stack()
    try:
        assert any("local stack ready" in o for o in again.output), "\n".join(again.output)
        assert post(again.base, "/wf/pizza/again", {}).status_code == 201
    finally:
        assert stop_local_stack(again) == 0
    eventually(lambda: not _pids_listening_on(again.ports()), timeout=20)


@pytest.mark.parametrize("variable", ["PORT", "TASKS_PORT"])
def test_a_taken_port_stops_it_at_once_naming_the_variable(variable: str) -> None:
    with socket.socket() as other:  # another program on the chosen port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {**os.environ, "PORT": str(free_port()), "TASKS_PORT": str(free_port())}
        env[variable] = str(port)
        result = subprocess.run(
            ["bash", "deploy/local.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {port} ({variable}) is already in use" in result.stderr
    assert f"set {variable} to a free port" in result.stderr
    assert "starting" not in result.stdout and "ready" not in result.stdout  # nothing started


def test_the_same_port_twice_is_refused() -> None:
    port = str(free_port())
    env = {**os.environ, "PORT": port, "TASKS_PORT": port}
    result = subprocess.run(
        ["bash", "deploy/local.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert f"PORT and TASKS_PORT are both {port}" in result.stderr
